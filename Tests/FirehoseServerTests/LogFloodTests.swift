import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// Log floods: repeated lines are rate-limited with a count, and a stalled stderr never stalls
/// the server.
final class LogFloodTests: XCTestCase {
    func testRepeatedLinesAreCountedNotWritten() {
        let limiter = LogLimiter(window: 10, burst: 5)
        var lines: [String] = []
        for i in 0..<1239 { limiter.log("accept failed", now: Double(i) * 0.005, emit: { lines.append($0) }) { "accept failed #\(i)" } }
        limiter.log("other", now: 1, emit: { lines.append($0) }) { "other line" }
        XCTAssertEqual(lines, ["accept failed #0", "accept failed #1", "accept failed #2", "accept failed #3", "accept failed #4", "other line"])
        limiter.log("accept failed", now: 10.5, emit: { lines.append($0) }) { "accept failed again" }
        XCTAssertEqual(lines.suffix(2), ["accept failed: ... 1,234 more in the last 11 s", "accept failed again"])
        XCTAssertEqual(LogLimiter.grouped(1_234_567), "1,234,567")
        XCTAssertEqual(LogLimiter.grouped(999), "999")
    }

    /// A client sending malformed requests in a loop gets its 400s, but only the first few
    /// produce a log line.
    func testMalformedRequestsLogAFewLines() throws {
        let server = try TestServer { $0.logLevel = .info }
        defer { server.stop() }
        var lines: [String] = []
        for _ in 0..<50 {
            let client = try server.connect()
            try client.send(Array("BLAH\r\n\r\n".utf8))
            XCTAssertEqual(try client.readResponse().status, 400)
        }
        // The limiter's own record: at most `burst` lines written for the kind this window.
        server.onLoop { server.server.context.logLimiter.log("bad request", now: EventLoop.now(), emit: { lines.append($0) }) { "probe" } }
        XCTAssertEqual(lines, [], "the 51st line of the window is suppressed")
    }

    /// Before: the loop blocked in write(2) on a full pipe, and every client waited.
    func testStalledStderrDoesNotStallTheServer() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let savedStderr = dup(STDERR_FILENO)
        dup2(fds[1], STDERR_FILENO)
        defer {
            dup2(savedStderr, STDERR_FILENO)
            close(savedStderr)
            close(fds[0])
            close(fds[1])
        }
        let server = try TestServer { $0.logLevel = .debug }  // a line per request
        defer { server.stop() }
        let droppedBefore = StderrWriter.droppedLines
        let client = try server.connect(timeout: 2)
        let start = Date()
        // 64 KiB of pipe fills after a few hundred lines; nobody reads it.
        for _ in 0..<2000 { XCTAssertEqual(try client.request(method: "HEAD", target: "/a-channel-with-a-long-name-to-fill-the-pipe").status, 200) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)
        XCTAssertGreaterThan(StderrWriter.droppedLines, droppedBefore)
    }
}
