/// What this binary was built from. The values come from a file the BuildInfoPlugin generates at
/// build time (from VERSION and the git checkout), so the version has exactly one source.
public enum BuildInfo {
    /// The contents of the VERSION file, e.g. `0.3.0`.
    public static let version = generatedVersion

    /// The full commit name the sources were built from, or nil when the build could not tell
    /// (no git checkout and no `FIREHOSE_COMMIT`).
    public static let commit = generatedCommit

    /// The line `firehose version` prints.
    public static var versionLine: String { versionLine(version: version, commit: commit) }

    static func versionLine(version: String, commit: String?) -> String {
        guard let commit else { return "firehose \(version)" }
        return "firehose \(version) (commit \(commit))"
    }
}
