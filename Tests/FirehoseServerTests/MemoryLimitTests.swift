import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// spec/limits.md LIM-6: the bytes held by channel buffers are capped by `--max-memory`; a
/// publish that would pass the cap is refused with 503 and a reason, and nothing else changes.
final class MemoryLimitTests: XCTestCase {
    private func used(_ server: TestServer) -> Int {
        server.onLoop { server.memoryBackend.budget.used }
    }

    func testPublishesPastTheCapAreRefusedWith503() throws {
        let server = try TestServer { $0.hardening.maxMemory = 1 << 20 }
        defer { server.stop() }
        // Nothing to escape: charged the body and the overhead, 768 + 4 x (148 + 3) for "/mN".
        let body = String(repeating: "a", count: 200_000)
        let charge = 200_000 + 1372
        for i in 0..<5 { XCTAssertEqual(try server.publish("/m\(i)", body).status, 202) }
        XCTAssertEqual(used(server), 5 * charge)
        let refused = try server.publish("/m5", body)
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.text, "Memory limit reached: channel buffers hold \(5 * charge) of 1048576 bytes\n")
        XCTAssertEqual(used(server), 5 * charge, "a refused publish changes nothing")
        XCTAssertEqual(server.census().channels, 5, "the refused channel is not kept")
        // Subscribers still get everything that was stored.
        let client = try server.connect()
        XCTAssertEqual(try client.request(method: "GET", target: "/m4?last_message_sequence=0").status, 200)
        // A publish that pushes an older message out of its own window frees what it needs.
        XCTAssertEqual(try server.publish("/m0", "small", headers: [("X-Firehose-Buffer-Size", "1")]).status, 202)
        XCTAssertEqual(used(server), 4 * charge + 5 + 1372)
        XCTAssertEqual(try server.publish("/m5", body).status, 202)
    }

    /// Control bytes escape to six bytes each in JSON: charged as such.
    func testEscapingIsCharged() throws {
        let server = try TestServer { $0.hardening.maxMemory = 1 << 20 }
        defer { server.stop() }
        let control = String(repeating: "\u{01}", count: 100_000)  // escapes to 600,000 bytes
        XCTAssertEqual(try server.publish("/ctl", control).status, 202)
        XCTAssertEqual(used(server), 700_000 + 768 + 4 * (148 + 4))
        XCTAssertEqual(try server.publish("/ctl2", control).status, 503)
    }

    /// Line breaks: SSE's `data:` lines (7 bytes per break) are the longer rewrite, and charged.
    func testTheLongerRewriteIsCharged() throws {
        let server = try TestServer { $0.hardening.maxMemory = 1 << 20 }
        defer { server.stop() }
        let lines = String(repeating: "\n", count: 100_000)  // JSON: 200,000 bytes; SSE lines: 700,000
        XCTAssertEqual(try server.publish("/nl", lines).status, 202)
        XCTAssertEqual(used(server), 100_000 + 700_000 + 768 + 4 * (148 + 3))
    }

    /// Expired channels give their bytes back.
    func testExpiryReleasesTheBytes() throws {
        let server = try TestServer { $0.hardening.maxMemory = 1 << 20 }
        defer { server.stop() }
        try server.publish("/short", String(repeating: "b", count: 1000), headers: [("Cache-Control", "max-age=1")])
        XCTAssertEqual(used(server), 1000 + 768 + 4 * (148 + 6))
        XCTAssertTrue(server.eventually(timeout: 4) { _ in self.used(server) == 0 })
        XCTAssertEqual(server.census().channels, 0)
    }
}
