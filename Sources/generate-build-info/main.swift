import Foundation

// The build-tool behind Plugins/BuildInfoPlugin: turns the VERSION file (and a commit, when the
// plugin found one) into Swift source. A separate executable because a build-tool plugin may only
// declare commands, not write the build's sources itself.
//
// generate-build-info --version-file <path> --output <path> [--commit <name>]

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("generate-build-info: \(message)\n".utf8))
    exit(1)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let name = arguments.popFirst() {
    guard ["--version-file", "--output", "--commit"].contains(name) else { fail("unknown argument \(name)") }
    guard let value = arguments.popFirst() else { fail("\(name) needs a value") }
    options[name] = value
}
guard let versionPath = options["--version-file"], let outputPath = options["--output"] else {
    fail("usage: generate-build-info --version-file <path> --output <path> [--commit <name>]")
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
let commit = options["--commit"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
if let commit, commit.isEmpty || !commit.allSatisfy({ $0.isHexDigit }) {
    fail("--commit must be a hexadecimal commit name, found '\(commit)'")
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
