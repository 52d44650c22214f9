import XCTest
import FirehoseCore
import FirehoseClient
@testable import FirehoseServer

/// spec LIM-6: what one stored message holds once it was read over every transport and format a
/// client can ask for: its body, at most one rewritten copy of it (JSON-escaped or SSE lines), and
/// the heads and tails of its cached encodings; never more than `MemoryBudget` charges it.
final class MessageMemoryTests: XCTestCase {
    /// Control bytes and line breaks: both rewrites differ from the body (JSON 14/3 of it, SSE
    /// lines 9/3), so a message keeping every format whole, or both rewrites, would hold far more.
    private static let body = Array(String(repeating: "\u{01}\u{01}\n", count: 10_000).utf8)

    func testAMessageReadEverywayHoldsItsBodyOneEncodingAndTheOverhead() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = MessageMemoryTests.body
        let text = String(decoding: body, as: UTF8.self)
        XCTAssertEqual(try server.publish("/held", text).status, 202)
        let frame = FirehoseFrame.encode(channel: nil, body: body, sequence: 1)
        let multiplexed = FirehoseFrame.encode(channel: "/held", body: body, sequence: 1)

        // Long-poll: the whole-response format, and the frame (an Origin to echo); multiplexed both ways.
        let client = try server.connect()
        for origin in [[], [("Origin", "http://example.com")]] {
            let single = try client.request(method: "GET", target: "/held?last_message_sequence=0", headers: origin)
            XCTAssertEqual(single.status, 200)
            XCTAssertEqual(single.body, frame)
            let mux = try client.request(method: "GET", target: "/channels@firehose?subscribe=/held!0", headers: origin)
            XCTAssertEqual(mux.status, 200)
            XCTAssertEqual(mux.body, multiplexed)
        }
        // WebSocket, single-channel and multiplexed.
        let socket = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/held")
        try socket.send(text: #"{"message_sequence":0}"#)
        XCTAssertEqual(try socket.receive().payload, frame)
        let muxSocket = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/channels@firehose?subscribe=/held!0")
        XCTAssertEqual(try muxSocket.receive().payload, multiplexed)
        // Server-Sent Events, single-channel (the body as data: lines) and multiplexed.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { "data: \($0)\n" }.joined()
        XCTAssertEqual(try eventStream(server, "/held", lastEventID: "0", count: 6 + lines.utf8.count + 1),
                       Array(("id: 1\n" + lines + "\n").utf8))
        let muxEvent = Array("id: /held!1\ndata: ".utf8) + multiplexed + Array("\n\n".utf8)
        XCTAssertEqual(try eventStream(server, "/channels@firehose?subscribe=/held!0", lastEventID: nil, count: muxEvent.count), muxEvent)

        let (held, encodings, charged, used) = server.onLoop { () -> (Int, Int, Int, Int) in
            let message = server.memoryBackend.channels["/held"]!.buffer[0]
            return (message.heldBytes, message.cachedEncodingCount, MemoryBudget.cost(of: message), server.memoryBackend.budget.used)
        }
        let escaped = JSONWriter.escapedLength(body)
        let sseLines = lines.utf8.count - 6 - 1  // without the head's first "data: " and the tail's "\n"
        XCTAssertEqual(escaped, body.count * 14 / 3)
        XCTAssertEqual(encodings, MessageFormat.cacheSlots, "more formats were read than a message keeps")
        // Body + one encoding (the JSON one, asked for first) + at most the framing of each slot.
        let framing = MessageFormat.cacheSlots * (MessageFormat.maxFramingBytes + "/held".utf8.count)
        XCTAssertLessThanOrEqual(held, body.count + escaped + framing)
        XCTAssertGreaterThanOrEqual(held, body.count + escaped, "the escaped body is kept, not rebuilt per delivery")
        XCTAssertLessThan(held, body.count + escaped + sseLines, "a second rewritten copy is not kept")
        XCTAssertLessThanOrEqual(held + MemoryBudget.objectOverhead, charged)
        XCTAssertEqual(charged, body.count + max(escaped, sseLines) + MemoryBudget.overhead(channel: "/held"))
        XCTAssertEqual(used, charged)
    }

    /// Opens an event stream over HTTP/1.0 (close-delimited: no chunk framing) and returns the
    /// `count` bytes that follow the head and the `retry:` line.
    private func eventStream(_ server: TestServer, _ target: String, lastEventID: String?, count: Int) throws -> [UInt8] {
        let client = try server.connect()
        let resume = lastEventID.map { "Last-Event-ID: \($0)\r\n" } ?? ""
        try client.send(Array("GET \(target) HTTP/1.0\r\nAccept: text/event-stream\r\n\(resume)\r\n".utf8))
        var head: [UInt8] = []
        while !(head.count >= 4 && head.suffix(4) == [13, 10, 13, 10]) { head += try client.read(count: 1) }
        XCTAssertTrue(head.starts(with: Array("HTTP/1.1 200".utf8)), String(decoding: head, as: UTF8.self))
        XCTAssertEqual(try client.read(count: 13), Array("retry: 2000\n\n".utf8))
        return try client.read(count: count)
    }
}
