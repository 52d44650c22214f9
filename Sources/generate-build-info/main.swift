import Foundation

// The build-tool behind Plugins/BuildInfoPlugin: turns the VERSION file and the commit into Swift
// source. A separate executable because a build-tool plugin may only declare commands, and
// because the commit must be read when the command runs, not when SwiftPM plans the build.
//
// generate-build-info --version-file <path> --output <path>
//                     [--commit <name> | --git-dir <path> --common-dir <path>]

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("generate-build-info: \(message)\n".utf8))
    exit(1)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let name = arguments.popFirst() {
    guard ["--version-file", "--output", "--commit", "--git-dir", "--common-dir"].contains(name) else {
        fail("unknown argument \(name)")
    }
    guard let value = arguments.popFirst() else { fail("\(name) needs a value") }
    options[name] = value
}
guard let versionPath = options["--version-file"], let outputPath = options["--output"] else {
    fail("usage: generate-build-info --version-file <path> --output <path> [--commit <name> | --git-dir <path> --common-dir <path>]")
}

let versionText: String
do {
    versionText = try String(contentsOfFile: versionPath, encoding: .utf8)
} catch {
    fail("cannot read \(versionPath): \(error)")
}
let version = versionText.trimmingCharacters(in: .whitespacesAndNewlines)

// The version ends up in a Debian control file and a Swift string literal: refuse anything that is
// not a plain dotted version rather than escape it, so a typo in VERSION fails the build loudly.
let versionCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~-")
guard let first = version.first, first.isNumber, version.allSatisfy({ versionCharacters.contains($0) }) else {
    fail("\(versionPath) must hold one version such as 1.2.3, found '\(version)'")
}

let commit: String?
if let given = options["--commit"] {
    let trimmed = given.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, trimmed.allSatisfy(\.isHexDigit) else {
        fail("--commit (FIREHOSE_COMMIT) must be a hexadecimal commit name, found '\(given)'")
    }
    commit = trimmed
} else if let gitDir = options["--git-dir"] {
    commit = headCommit(gitDir: URL(filePath: gitDir), commonDir: URL(filePath: options["--common-dir"] ?? gitDir))
} else {
    commit = nil
}

let source = """
    // Generated at build time from VERSION and the git checkout; not part of the sources.
    let generatedVersion = "\(version)"
    let generatedCommit: String? = \(commit.map { "\"\($0)\"" } ?? "nil")

    """

// Written only when different, so an unchanged version does not recompile its dependents.
if (try? String(contentsOfFile: outputPath, encoding: .utf8)) != source {
    do {
        try source.write(toFile: outputPath, atomically: true, encoding: .utf8)
    } catch {
        fail("cannot write \(outputPath): \(error)")
    }
}

/// The commit HEAD names: a detached HEAD holds it; otherwise HEAD names a ref, kept either as a
/// loose file (in the worktree's own directory or the shared one) or as a line of packed-refs
/// after `git gc`. Anything unexpected means "no commit", never a failed build.
func headCommit(gitDir: URL, commonDir: URL) -> String? {
    guard let head = firstLine(of: gitDir.appending(path: "HEAD")) else { return nil }
    guard head.hasPrefix("ref:") else { return isObjectName(head) ? head : nil }
    let ref = head.dropFirst("ref:".count).trimmingCharacters(in: .whitespaces)
    for directory in [gitDir, commonDir] {
        if let value = firstLine(of: directory.appending(path: ref)), isObjectName(value) { return value }
    }
    guard let packed = try? String(contentsOf: commonDir.appending(path: "packed-refs"), encoding: .utf8) else { return nil }
    for line in packed.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("^") {
        let fields = line.split(separator: " ", maxSplits: 1)
        if fields.count == 2, fields[1] == ref, isObjectName(String(fields[0])) { return String(fields[0]) }
    }
    return nil
}

func firstLine(of file: URL) -> String? {
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
    let line = (text.split(separator: "\n").first ?? "").trimmingCharacters(in: .whitespaces)
    return line.isEmpty ? nil : line
}

/// A full SHA-1 or SHA-256 object name.
func isObjectName(_ text: String) -> Bool {
    (text.count == 40 || text.count == 64) && text.allSatisfy(\.isHexDigit)
}
