import Foundation
import XCTest
@testable import FirehoseServer

/// spec/limits.md "Option ranges", with the real `firehose` binary: an absurd value stops the server before
/// it listens, with exit status 64 and one message naming the option, the value and the range.
/// Before: `--idle-timeout 1e19`, `--long-poll-timeout inf` and `--ws-max-message-size
/// 9223372036854775807` started, then died of SIGILL on the first connection.
final class ConfigurationRangeTests: XCTestCase {
    /// The `firehose` executable built next to this test bundle.
    private var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("firehose")
    }

    private func locateBinary() throws -> URL {
        // The test bundle lives in <build>/debug/X.xctest (or is <build>/debug/X.xctest itself).
        for candidate in [binary, URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("firehose")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        struct Missing: Error, CustomStringConvertible { var description: String }
        throw Missing(description: "firehose binary not built next to the tests (\(CommandLine.arguments[0]))")
    }

    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = try locateBinary()
        process.arguments = ["server", "--host", "127.0.0.1", "--port", "0"] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // A bad value must stop it at once; a server that started is killed after 5 s and fails.
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return (-1, "still running")
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, text)
    }

    private func assertRefused(_ arguments: [String], environment: [String: String] = [:], says expected: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, stderr) = try run(arguments, environment: environment)
        XCTAssertEqual(status, 64, "\(arguments) \(environment): \(stderr)", file: file, line: line)
        XCTAssertTrue(stderr.contains(expected), "\(arguments) \(environment): expected \(expected) in: \(stderr)", file: file, line: line)
    }

    func testAbsurdValuesAreRefusedAtStartUp() throws {
        try assertRefused(["--idle-timeout", "1e19"], says: "--idle-timeout 1e+19 is out of range (0.001 to 86400.0)")
        try assertRefused(["--long-poll-timeout", "inf"], says: "--long-poll-timeout inf is out of range (0.001 to 86400.0)")
        try assertRefused(["--long-poll-timeout", "nan"], says: "--long-poll-timeout nan is out of range")
        try assertRefused(["--ws-max-message-size", "9223372036854775807"],
                          says: "--ws-max-message-size 9223372036854775807 is out of range (65536 to 16777216)")
        try assertRefused(["--ws-max-buffered", "100"], says: "--ws-max-buffered 100 is out of range (65536 to 1073741824)")
        try assertRefused(["--buffer-size", "100", "--max-buffer-size", "5"], says: "--max-buffer-size 5 is out of range (--buffer-size 100 to 1000000)")
        try assertRefused(["--max-channels-per-connection", "0"], says: "--max-channels-per-connection 0 is out of range (1 to 100000)")
        try assertRefused(["--request-timeout=-1"], says: "--request-timeout -1.0 is out of range (1.0 to 3600.0)")
        try assertRefused(["--port", "70000"], says: "--port 70000 is out of range (0 to 65535)")
    }

    func testEnvironmentTwinsAreCheckedTheSameWay() throws {
        try assertRefused([], environment: ["METRICS_INTERVAL": "0"], says: "--metrics-interval 0 is out of range (1 to 86400)")
        try assertRefused([], environment: ["SSE_HEARTBEAT": "1e300"], says: "--sse-heartbeat 1e+300 is out of range")
        try assertRefused([], environment: ["DEFAULT_BUFFER_SIZE": "many"], says: "DEFAULT_BUFFER_SIZE=many is not a whole number")
    }

    func testValuesAtTheEdgesOfTheirRangesStart() throws {
        let (status, stderr) = try run(["--idle-timeout", "86400", "--ws-max-message-size", "16777216", "--ws-max-buffered", "65536",
                                        "--max-channels-per-connection", "100000", "--request-timeout", "1"])
        XCTAssertEqual(status, -1, "the server should have started: \(stderr)")
    }
}
