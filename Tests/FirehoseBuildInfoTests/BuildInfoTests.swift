import Foundation
import XCTest
@testable import FirehoseBuildInfo

/// The generated build info against its sources: the VERSION file and the checkout's HEAD.
final class BuildInfoTests: XCTestCase {
    /// The package's root, found from this file's location (Tests/FirehoseBuildInfoTests/).
    private let packageRoot = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testBuiltVersionIsTheVersionFile() throws {
        let file = try String(contentsOf: packageRoot.appending(path: "VERSION"), encoding: .utf8)
        XCTAssertEqual(BuildInfo.version, file.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The commit the plugin read from .git is the one git itself reports for HEAD (`swift test`
    /// builds first, and a new commit changes a file the plugin declared as an input).
    func testBuiltCommitIsTheCheckoutsHead() throws {
        if let forced = ProcessInfo.processInfo.environment["FIREHOSE_COMMIT"], !forced.isEmpty {
            XCTAssertEqual(BuildInfo.commit, forced)
            return
        }
        guard FileManager.default.fileExists(atPath: packageRoot.appending(path: ".git").path) else {
            XCTAssertNil(BuildInfo.commit, "no git checkout and no FIREHOSE_COMMIT, yet a commit was built in")
            return
        }
        let git = Process()
        git.executableURL = URL(filePath: "/usr/bin/env")
        git.arguments = ["git", "-C", packageRoot.path, "rev-parse", "HEAD"]
        let output = Pipe()
        git.standardOutput = output
        try git.run()
        let head = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        git.waitUntilExit()
        XCTAssertEqual(git.terminationStatus, 0, "git rev-parse HEAD failed")
        XCTAssertEqual(BuildInfo.commit, head.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func testVersionLine() {
        XCTAssertEqual(BuildInfo.versionLine(version: "0.3.0", commit: nil), "firehose 0.3.0")
        XCTAssertEqual(BuildInfo.versionLine(version: "0.3.0", commit: "cbc02f9"), "firehose 0.3.0 (commit cbc02f9)")
    }
}
