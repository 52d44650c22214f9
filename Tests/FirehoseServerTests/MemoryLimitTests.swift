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
        let body = String(repeating: "a", count: 100_000)  // charged 100,000 + 100,000 + 128
        for i in 0..<5 { XCTAssertEqual(try server.publish("/m\(i)", body).status, 202) }
        XCTAssertEqual(used(server), 5 * 200_128)
        let refused = try server.publish("/m5", body)
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.text, "Memory limit reached: channel buffers hold 1000640 of 1048576 bytes\n")
        XCTAssertEqual(used(server), 5 * 200_128, "a refused publish changes nothing")
        XCTAssertEqual(server.census().channels, 5, "the refused channel is not kept")
        // Subscribers still get everything that was stored.
        let client = try server.connect()
        XCTAssertEqual(try client.request(method: "GET", target: "/m4?last_message_sequence=0").status, 200)
        // A publish that pushes an older message out of its own window frees what it needs.
        XCTAssertEqual(try server.publish("/m0", "small", headers: [("X-Firehose-Buffer-Size", "1")]).status, 202)
        XCTAssertEqual(used(server), 4 * 200_128 + 5 + 5 + 128)
        XCTAssertEqual(try server.publish("/m5", body).status, 202)
    }

    /// Control bytes escape to six bytes each in JSON: charged as such.
    func testEscapingIsCharged() throws {
        let server = try TestServer { $0.hardening.maxMemory = 1 << 20 }
        defer { server.stop() }
        let control = String(repeating: "\u{01}", count: 100_000)  // escapes to 600,000 bytes
        XCTAssertEqual(try server.publish("/ctl", control).status, 202)
        XCTAssertEqual(used(server), 700_128)
        XCTAssertEqual(try server.publish("/ctl2", control).status, 503)
    }

    /// Expired channels give their bytes back.
    func testExpiryReleasesTheBytes() throws {
        let server = try TestServer { $0.hardening.maxMemory = 1 << 20 }
        defer { server.stop() }
        try server.publish("/short", String(repeating: "b", count: 1000), headers: [("Cache-Control", "max-age=1")])
        XCTAssertEqual(used(server), 2128)
        XCTAssertTrue(server.eventually(timeout: 4) { _ in self.used(server) == 0 })
        XCTAssertEqual(server.census().channels, 0)
    }
}
