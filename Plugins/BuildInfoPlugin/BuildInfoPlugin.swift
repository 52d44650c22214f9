import Foundation
import PackagePlugin

/// Generates `BuildInfo.generated.swift` for a target: the version from the package's VERSION file
/// and the commit the sources were built from, so `firehose version` never disagrees with them and
/// nothing generated is ever committed.
///
/// The commit comes from `FIREHOSE_COMMIT` when set (a build from a tarball, or a packager that
/// knows better), otherwise from the git metadata itself: the plugin reads `.git` directly rather
/// than running `git`, so a build needs no git binary, and it declares the files it read as the
/// command's inputs, so a new commit or a branch switch regenerates the file on the next build.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let versionFile = root.appending(path: "VERSION")
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.generated.swift")

        var arguments = ["--version-file", versionFile.path, "--output", output.path]
        var inputs = [versionFile]
        if let commit = ProcessInfo.processInfo.environment["FIREHOSE_COMMIT"], !commit.isEmpty {
            arguments += ["--commit", commit]
        } else if let head = GitHead(packageRoot: root) {
            arguments += ["--commit", head.commit]
            inputs += head.filesRead
        }

        return [
            .buildCommand(
                displayName: "Generating build info (version, commit) for \(target.name)",
                executable: try context.tool(named: "generate-build-info").url,
                arguments: arguments,
                inputFiles: inputs,
                outputFiles: [output]
            ),
        ]
    }
}

/// The commit a git checkout's HEAD names, read from the files git keeps. Handles a plain clone
/// (`.git` is a directory), a worktree or submodule (`.git` is a file `gitdir: <path>`, and the
/// branch refs live in the directory named by its `commondir`), a detached HEAD, and refs that
/// `git gc` moved into `packed-refs`. Anything unexpected means "no commit", never a failed build.
struct GitHead {
    let commit: String
    /// Every file whose change could change `commit`, for the build system to watch.
    let filesRead: [URL]

    init?(packageRoot: URL) {
        let dotGit = packageRoot.appending(path: ".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }

        var filesRead: [URL] = []
        let gitDir: URL
        if isDirectory.boolValue {
            gitDir = dotGit
        } else {
            guard let pointer = Self.firstLine(of: dotGit), pointer.hasPrefix("gitdir:") else { return nil }
            filesRead.append(dotGit)
            gitDir = Self.resolve(String(pointer.dropFirst("gitdir:".count)), against: packageRoot)
        }
        let commonDir: URL
        let commonDirFile = gitDir.appending(path: "commondir")
        if let relative = Self.firstLine(of: commonDirFile) {
            commonDir = Self.resolve(relative, against: gitDir)
        } else {
            commonDir = gitDir
        }

        let headFile = gitDir.appending(path: "HEAD")
        guard let head = Self.firstLine(of: headFile) else { return nil }
        filesRead.append(headFile)
        guard head.hasPrefix("ref:") else {
            guard Self.isObjectName(head) else { return nil }
            self.commit = head
            self.filesRead = filesRead
            return
        }

        let ref = head.dropFirst("ref:".count).trimmingCharacters(in: .whitespaces)
        let packedRefs = commonDir.appending(path: "packed-refs")
        if FileManager.default.fileExists(atPath: packedRefs.path) {
            // Watched even when the loose ref wins: `git gc` may delete the loose file later.
            filesRead.append(packedRefs)
        }
        for directory in [gitDir, commonDir] {
            let looseRef = directory.appending(path: ref)
            if let value = Self.firstLine(of: looseRef), Self.isObjectName(value) {
                self.commit = value
                self.filesRead = filesRead + [looseRef]
                return
            }
        }
        guard let packed = try? String(contentsOf: packedRefs, encoding: .utf8) else { return nil }
        for line in packed.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("^") {
            let fields = line.split(separator: " ", maxSplits: 1)
            if fields.count == 2, fields[1] == ref, Self.isObjectName(String(fields[0])) {
                self.commit = String(fields[0])
                self.filesRead = filesRead
                return
            }
        }
        return nil
    }

    private static func firstLine(of file: URL) -> String? {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    private static func resolve(_ path: String, against base: URL) -> URL {
        let trimmed = path.trimmingCharacters(in: .whitespaces)
        let url = trimmed.hasPrefix("/") ? URL(filePath: trimmed) : base.appending(path: trimmed)
        return url.standardizedFileURL
    }

    /// A full SHA-1 or SHA-256 object name.
    private static func isObjectName(_ text: String) -> Bool {
        (text.count == 40 || text.count == 64) && text.allSatisfy(\.isHexDigit)
    }
}
