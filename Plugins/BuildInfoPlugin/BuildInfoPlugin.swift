import Foundation
import PackagePlugin

/// Generates `BuildInfo.generated.swift` for a target: the version from the package's VERSION file
/// and the commit the sources were built from, so `firehose version` never disagrees with them and
/// nothing generated is ever committed.
///
/// The commit comes from `FIREHOSE_COMMIT` when set (a build from a tarball, or a packager that
/// knows better), otherwise from the git metadata, read by the tool when the command runs (SwiftPM
/// reuses a build plan across builds, so a commit computed here would go stale). Neither reads
/// git through the `git` binary: a build needs none. The plugin only finds the git directories and
/// declares the files that move when HEAD does as the command's inputs, so a commit, checkout,
/// reset or `git gc` regenerates the file on the next build.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let versionFile = root.appending(path: "VERSION")
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.generated.swift")

        var arguments = ["--version-file", versionFile.path, "--output", output.path]
        var inputs = [versionFile]
        // SwiftPM plans the build again when the environment changes, so this is never stale.
        if let commit = ProcessInfo.processInfo.environment["FIREHOSE_COMMIT"], !commit.isEmpty {
            arguments += ["--commit", commit]
        } else if let git = GitDirectories(packageRoot: root) {
            arguments += ["--git-dir", git.gitDir.path, "--common-dir", git.commonDir.path]
            inputs += git.watchedFiles
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

/// Where a checkout keeps its git metadata: `.git` itself in a plain clone; in a worktree or
/// submodule `.git` is a file `gitdir: <path>`, and that directory's `commondir` names where the
/// shared refs live.
struct GitDirectories {
    /// Per-checkout: HEAD and its reflog.
    let gitDir: URL
    /// Shared: branch refs and packed-refs (the same as gitDir outside a worktree).
    let commonDir: URL
    /// Files whose change may mean a different commit. `logs/HEAD` gains a line whenever HEAD
    /// moves (commit, checkout, reset, merge); HEAD changes on a checkout; the refs directory's
    /// entries change whenever git rewrites a ref (it renames a lock file over it); packed-refs
    /// changes on `git gc`. Only existing files are declared: a missing input would fail the build.
    let watchedFiles: [URL]

    init?(packageRoot: URL) {
        let dotGit = packageRoot.appending(path: ".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            gitDir = dotGit
        } else {
            guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
                  let line = text.split(separator: "\n").first, line.hasPrefix("gitdir:") else { return nil }
            gitDir = Self.resolve(String(line.dropFirst("gitdir:".count)), against: packageRoot)
        }
        if let text = try? String(contentsOf: gitDir.appending(path: "commondir"), encoding: .utf8),
           let line = text.split(separator: "\n").first {
            commonDir = Self.resolve(String(line), against: gitDir)
        } else {
            commonDir = gitDir
        }

        var candidates = [
            dotGit,
            gitDir.appending(path: "HEAD"),
            gitDir.appending(path: "logs/HEAD"),
            commonDir.appending(path: "packed-refs"),
            commonDir.appending(path: "refs/heads"),
        ]
        // The branch checked out now, and the directory holding it (for a name like feature/x).
        if let head = try? String(contentsOf: gitDir.appending(path: "HEAD"), encoding: .utf8), head.hasPrefix("ref:") {
            let ref = commonDir.appending(path: head.dropFirst("ref:".count).trimmingCharacters(in: .whitespacesAndNewlines))
            candidates += [ref, ref.deletingLastPathComponent()]
        }
        var seen = Set<String>()
        watchedFiles = candidates.filter { FileManager.default.fileExists(atPath: $0.path) && seen.insert($0.path).inserted }
    }

    private static func resolve(_ path: String, against base: URL) -> URL {
        let trimmed = path.trimmingCharacters(in: .whitespaces)
        let url = trimmed.hasPrefix("/") ? URL(filePath: trimmed) : base.appending(path: trimmed)
        return url.standardizedFileURL
    }
}
