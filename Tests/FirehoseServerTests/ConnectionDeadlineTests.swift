import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// spec/limits.md LIM-3, LIM-4, "Closing deadline", and WSX-5: every connection state ends, however the client
/// behaves: a closing connection whose client does not read, a request trickling in, a control
/// frame announcing more than 125 bytes, a client flooding pings without reading the pongs.
final class ConnectionDeadlineTests: XCTestCase {
    private func shrinkReceiveBuffer(_ fd: Int32) {
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
    }

    private func openWebSockets(_ server: TestServer) -> Int {
        server.onLoop { server.server.context.openWebSockets }
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    private func within(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// spec/limits.md "Closing deadline": a WebSocket closing (here after a protocol error) while megabytes are still queued
    /// for a client that does not read is dropped after `closeFlushTimeout`. Before: open forever.
    func testClosingWebSocketWithUnreadOutputEnds() throws {
        let server = try TestServer {
            $0.webSocketMaxBufferedBytes = 256 * 1024 * 1024
            $0.webSocketPingInterval = 600  // a slow (sanitized) build must not ping it out first
            $0.hardening.closeFlushTimeout = 0.5
        }
        defer { server.stop() }
        let client = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/unread")
        shrinkReceiveBuffer(client.connection.fd)
        try client.send(text: #"{"message_sequence":0}"#)
        let publisher = try server.connect()
        let payload = String(repeating: "x", count: 64 * 1024)
        for _ in 0..<300 { try server.publish("/unread", payload, on: publisher) }  // ~19 MiB queued
        XCTAssertEqual(openWebSockets(server), 1)
        try client.connection.send([0x81, 0x00])  // an unmasked frame: close 1002, queued behind the rest
        XCTAssertTrue(within(3) { openWebSockets(server) == 0 }, "the closing WebSocket was never dropped")
    }

    /// spec/limits.md "Closing deadline": a PUT with `Connection: close` behind pipelined requests whose answers the client
    /// never reads. Before: the connection stayed open past every timeout.
    func testConnectionCloseBehindUnreadPipelinedAnswersEnds() throws {
        let server = try TestServer {
            $0.writeHighWatermark = 256 * 1024 * 1024
            $0.hardening.closeFlushTimeout = 0.5
            $0.idleTimeout = 60
        }
        defer { server.stop() }
        try server.publish("/big", String(repeating: "y", count: 64 * 1024))
        let client = try server.connect()
        shrinkReceiveBuffer(client.fd)
        var pipeline: [UInt8] = []
        for _ in 0..<300 { pipeline += Array("GET /big?last_message_sequence=0 HTTP/1.1\r\nHost: x\r\n\r\n".utf8) }
        pipeline += Array("PUT /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi".utf8)
        try client.send(pipeline)
        XCTAssertTrue(server.eventually(timeout: 3) { _ in
            server.onLoop { server.memoryBackend.channelCount } == 2
        }, "the PUT was not handled")
        XCTAssertTrue(server.eventually(timeout: 3) { $0.connections == 0 }, "\(server.census())")
    }

    /// LIM-3: one byte every 0.3 s keeps restarting an idle timer, but not the request deadline.
    func testSlowlorisHeadersGet408AtTheRequestDeadline() throws {
        let server = try TestServer { $0.idleTimeout = 2; $0.hardening.requestTimeout = 1 }
        defer { server.stop() }
        let client = try server.connect()
        let start = Date()
        var answer: [UInt8] = []
        for byte in Array("GET /slow HTTP/1.1\r\nX-Padding: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 100) {
            guard (try? client.send([byte])) != nil else { break }
            if client.nextEvent(within: 0.3) == .data { break }
        }
        answer = (try? client.read(count: 12)) ?? []
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(String(decoding: answer, as: UTF8.self), "HTTP/1.1 408")
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 1.8, "answered after \(elapsed) s")
        XCTAssertTrue(server.eventually(timeout: 3) { $0.connections == 0 }, "\(server.census())")
    }

    /// LIM-3: the body counts too.
    func testSlowBodyGets408AtTheRequestDeadline() throws {
        let server = try TestServer { $0.idleTimeout = 2; $0.hardening.requestTimeout = 1 }
        defer { server.stop() }
        let client = try server.connect()
        try client.send(Array("PUT /slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n".utf8))
        let start = Date()
        for _ in 0..<20 {
            guard (try? client.send([UInt8(ascii: "b")])) != nil else { break }
            if client.nextEvent(within: 0.3) == .data { break }
        }
        let response = try client.readResponse(method: "PUT")
        XCTAssertEqual(response.status, 408)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.8)
        XCTAssertEqual(server.onLoop { server.memoryBackend.channelCount }, 0)
    }

    /// Keep-alive between requests is still the idle timeout's, and a request sent promptly after
    /// a long idle period is not cut short by the request deadline.
    func testRequestDeadlineStartsWithTheRequest() throws {
        let server = try TestServer { $0.idleTimeout = 3; $0.hardening.requestTimeout = 1 }
        defer { server.stop() }
        let client = try server.connect()
        XCTAssertEqual(try client.request(method: "HEAD", target: "/").status, 200)
        XCTAssertEqual(client.nextEvent(within: 1.5), .silent)  // idle past the request timeout: still open
        XCTAssertEqual(try client.request(method: "HEAD", target: "/").status, 200)
    }

    /// WSX-5: a control frame announcing 126 bytes is refused at its header: close 1002 at once.
    func testOversizedControlFrameIsRefusedAtItsHeader() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/ctl")
        client.connection.setTimeout(1)
        let start = Date()
        // A masked ping announcing 126 bytes (16-bit length), then nothing more.
        try client.connection.send([0x89, 0x80 | 126, 0x00, 126, 1, 2, 3, 4])
        let frame = try client.receive(controlFrames: true)
        XCTAssertEqual(frame.opcode, 0x8)
        XCTAssertEqual(frame.payload, [0x03, 0xEA])
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5)
        XCTAssertTrue(within(3) { openWebSockets(server) == 0 })
    }

    /// LIM-4: pongs count against `--ws-max-buffered`: a client flooding pings without reading is
    /// cut off within the budget and the server's memory stays flat. Before: 300 MB in 2.8 s.
    func testPingFloodWithoutReadingIsCutOff() throws {
        let server = try TestServer { $0.webSocketMaxBufferedBytes = 64 * 1024 }
        defer { server.stop() }
        let client = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/flood")
        shrinkReceiveBuffer(client.connection.fd)
        let before = residentBytes()
        var ping: [UInt8] = [0x89, 0x80 | 125, 0, 0, 0, 0]
        ping += [UInt8](repeating: 0x41, count: 125)
        let burst = Array([[UInt8]](repeating: ping, count: 1000).joined())  // 131 kB of pings
        var sent = 0
        while sent < 64 * 1024 * 1024 {
            guard (try? client.connection.send(burst)) != nil else { break }
            sent += burst.count
        }
        XCTAssertLessThan(sent, 64 * 1024 * 1024, "the flooding client was never cut off")
        XCTAssertTrue(within(3) { openWebSockets(server) == 0 })
        // Under AddressSanitizer freed memory sits in its quarantine: RSS says nothing there.
        if !underAddressSanitizer {
            let grown = residentBytes() - before
            XCTAssertLessThan(grown, 32 * 1024 * 1024, "RSS grew by \(grown) bytes")
        }
    }

    private func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Whether this process runs under AddressSanitizer (its runtime is linked in).
let underAddressSanitizer = dlsym(nil, "__asan_init") != nil  // nil: RTLD_DEFAULT
