import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient
import FirehoseCore

/// `ResponseStream` (HTTP/ResponseStream.swift) through a real server, with the SSE transport as
/// its producer: chunk framing on HTTP/1.1, close-delimited bytes on HTTP/1.0, idle heartbeats,
/// the end of the stream when the client goes, and the cut-off of a client that does not read.
/// (That a write postpones the next heartbeat is not asserted: it would need publishes timed
/// closer than the interval, which a loaded machine cannot promise.)
final class ResponseStreamTests: XCTestCase {
    private var server: TestServer!

    override func tearDown() { server?.stop() }

    private func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        server = try TestServer(configure)
    }

    private func openStream(_ target: String, version: String = "1.1") throws -> (HTTPClientConnection, HTTPClientConnection.Response) {
        let client = try server.connect(timeout: 5)
        try client.send(Array("GET \(target) HTTP/\(version)\r\nAccept: text/event-stream\r\n\r\n".utf8))
        return (client, try client.readResponse())
    }

    /// One chunk's payload, checking its framing: hex size, CR LF, payload, CR LF.
    private func readChunk(_ client: HTTPClientConnection, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var sizeLine: [UInt8] = []
        while !(sizeLine.count >= 2 && sizeLine.suffix(2) == [13, 10]) { sizeLine += try client.read(count: 1) }
        let hex = String(decoding: sizeLine.dropLast(2), as: UTF8.self)
        guard let size = Int(hex, radix: 16) else {
            XCTFail("bad chunk size line \(hex.debugDescription)", file: file, line: line)
            return ""
        }
        let payload = try client.read(count: size)
        XCTAssertEqual(try client.read(count: 2), [13, 10], "chunk of \(size) ends with CR LF", file: file, line: line)
        return String(decoding: payload, as: UTF8.self)
    }

    func testHTTP11StreamIsChunkFramedOnePiecePerWrite() throws {
        try start()
        let (client, head) = try openStream("/rs")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Transfer-Encoding"), "chunked")
        XCTAssertNil(head.header("Content-Length"))
        XCTAssertEqual(head.header("Content-Type"), "text/event-stream")
        XCTAssertEqual(try readChunk(client), "retry: 2000\n\n")
        XCTAssertTrue(server.eventually { $0.connections == 1 })
        let bodies = ["a\nb", "", String(repeating: "x", count: 100_000)]
        for (index, body) in bodies.enumerated() {
            try server.publish("/rs", body)
            let expected = String(decoding: Message(channel: "/rs", sequence: index + 1, body: Array(body.utf8)).encoded(as: SSEFormats.event).bytes,
                                  as: UTF8.self)
            XCTAssertEqual(try readChunk(client), expected, "message \(index + 1): one chunk")
        }
    }

    func testPrefixSharedBytesAndSuffixGoOutAsOneChunk() throws {
        // A multiplexed event is written as prefix + shared frame + suffix: one chunk holds all three.
        try start()
        let (client, head) = try openStream("/channels@firehose?subscribe=/m1!0,/m2!0")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(try readChunk(client), "retry: 2000\n\n")
        XCTAssertTrue(server.eventually { $0.connections == 1 })
        try server.publish("/m2", "two")
        XCTAssertEqual(try readChunk(client), "id: /m1!0,/m2!1\ndata: {\"channel\":\"/m2\",\"message\":\"two\",\"last_sequence\":1}\n\n")
        try server.publish("/m1", "one")
        XCTAssertEqual(try readChunk(client), "id: /m1!1,/m2!1\ndata: {\"channel\":\"/m1\",\"message\":\"one\",\"last_sequence\":1}\n\n")
    }

    func testHTTP10StreamIsCloseDelimited() throws {
        try start()
        let (client, head) = try openStream("/old", version: "1.0")
        XCTAssertEqual(head.status, 200)
        XCTAssertNil(head.header("Transfer-Encoding"))
        XCTAssertNil(head.header("Content-Length"))
        XCTAssertEqual(head.header("Connection"), "close")
        let retry = Array("retry: 2000\n\n".utf8)
        XCTAssertEqual(try client.read(count: retry.count), retry)
        XCTAssertTrue(server.eventually { $0.connections == 1 })
        try server.publish("/old", "plain")
        let event = Array("id: 1\ndata: plain\n\n".utf8)
        XCTAssertEqual(try client.read(count: event.count), event, "the event's bytes with no chunk framing")
    }

    func testAnIdleStreamGetsHeartbeatsBetweenMessages() throws {
        try start { $0.sseHeartbeatInterval = 0.3 }
        let (client, _) = try openStream("/beat")
        XCTAssertEqual(try readChunk(client), "retry: 2000\n\n")
        let started = Date()
        XCTAssertEqual(try readChunk(client), ": ping\n\n")
        XCTAssertEqual(try readChunk(client), ": ping\n\n", "the idle deadline is rescheduled after each heartbeat")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.5, "two intervals of 0.3 s, less the coarse clock's slack")
        try server.publish("/beat", "m")
        var chunk = try readChunk(client)
        while chunk == ": ping\n\n" { chunk = try readChunk(client) }  // one may have been under way
        XCTAssertEqual(chunk, "id: 1\ndata: m\n\n")
    }

    func testTheStreamEndsWhenTheClientGoes() throws {
        try start()
        let (client, _) = try openStream("/gone")
        XCTAssertEqual(try readChunk(client), "retry: 2000\n\n")
        XCTAssertTrue(server.eventually { $0.connections == 1 })
        shutdown(client.fd, Int32(SHUT_RDWR))
        XCTAssertTrue(server.eventually { $0.connections == 0 && $0.channels == 0 },
                      "connection closed and the subscription released: \(server.census())")
    }

    func testAClientThatDoesNotReadIsCutOff() throws {
        // The limit is the WebSocket one (64 KiB here); kernel buffers take some megabytes first,
        // so publish until the server gives up on the stream, at most 48 MB.
        try start {
            $0.webSocketMaxBufferedBytes = 64 * 1024
            $0.maxBodyBytes = 1024 * 1024
        }
        let (client, _) = try openStream("/slow")
        var small: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        XCTAssertTrue(server.eventually { $0.connections == 1 })
        let publisher = try server.connect()
        XCTAssertEqual(try publisher.request(method: "HEAD", target: "/slow").status, 200)
        XCTAssertTrue(server.eventually { $0.connections == 2 })
        let body = String(repeating: "s", count: 512 * 1024)
        var published = 0
        while published < 96, server.census().connections == 2 {
            XCTAssertEqual(try server.publish("/slow", body, on: publisher).status, 202)
            published += 1
        }
        XCTAssertTrue(server.eventually { $0.connections == 1 }, "the stream was cut off after \(published) messages: \(server.census())")
        XCTAssertLessThan(published, 96)
        XCTAssertEqual(try server.publish("/slow", "after", on: publisher).status, 202, "the publisher is unaffected")
    }
}
