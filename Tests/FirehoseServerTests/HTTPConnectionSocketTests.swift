import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// HTTPConnection+Socket.swift: the edge-triggered read event and writing on demand. Edge-
/// triggered, bytes already waiting are never reported again, so every way reading pauses and
/// resumes must still reach them: a response queued behind a client that does not read, an input
/// bound reached in the middle of a pipeline, output blocked by a client that reads slowly.
final class HTTPConnectionSocketTests: XCTestCase {
    /// A server whose `channel` holds one message of `megabytes` MiB, and that message's body.
    private func serverHolding(_ channel: String, megabytes: Int, idleTimeout: Double) throws -> (TestServer, String) {
        let server = try TestServer {
            $0.maxBodyBytes = 32 * 1024 * 1024
            $0.idleTimeout = idleTimeout
        }
        let body = String(repeating: "b", count: megabytes * 1024 * 1024)
        XCTAssertEqual(try server.publish(channel, body).status, 202)
        return (server, body)
    }

    /// A response too large for the socket is queued and sent by libevent, which registers the
    /// socket for writing and takes the edge trigger away; the next request must still be read.
    func testRequestAfterAQueuedResponseIsRead() throws {
        let (server, body) = try serverHolding("/queued", megabytes: 24, idleTimeout: 30)
        defer { server.stop() }
        let client = try server.connect()
        for round in 1...3 {
            try client.send(method: "GET", target: "/queued?last_message_sequence=0")
            usleep(200_000)  // not reading: megabytes wait in the server's output buffer
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 200, "round \(round)")
            XCTAssertEqual(response.body.count, body.count + #"{"message":"","last_sequence":1}"#.utf8.count, "round \(round)")
            // The next request on the same connection, once libevent has sent it all.
            let accepted = try client.request(method: "PUT", target: "/after", body: Array("r\(round)".utf8))
            XCTAssertEqual(accepted.status, 202, "round \(round)")
        }
    }

    /// A client reading a large answer for longer than the idle timeout, steadily, is not idle:
    /// it gets all of it. Before: cut off at the idle deadline, the queued rest dropped.
    func testSlowReaderOfALargeAnswerIsNotIdle() throws {
        let (server, body) = try serverHolding("/slow", megabytes: 16, idleTimeout: 1)
        defer { server.stop() }
        let client = try server.connect()
        try client.send(method: "GET", target: "/slow?last_message_sequence=0")
        // The whole response: a 94-byte head at most, then the frame around the body.
        let frame = body.count + #"{"message":"","last_sequence":1}"#.utf8.count
        client.setTimeout(5)
        var total = 0
        var start = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        let started = Date()
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.recv(client.fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            if start.count < 512 { start += chunk[0..<min(count, 512)] }
            total += count
            if let end = start.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound, total >= end + frame { break }
            usleep(20_000)  // about 12 MB/s: the answer takes longer than the 1 s idle timeout
        }
        let headBytes = start.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound ?? 0
        XCTAssertGreaterThan(headBytes, 0)
        let received = total - headBytes, expected = frame
        XCTAssertEqual(received, expected)
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 1.2, "the read must outlast the idle timeout to test it")
    }

    /// 3,000 pipelined requests against a 4 KiB input bound and an 8 KiB output bound: reading
    /// pauses and resumes hundreds of times, and every request is answered, in order.
    func testLongPipelineThroughSmallBoundsIsAnsweredInOrder() throws {
        let server = try TestServer {
            $0.readHighWatermark = 4096
            $0.writeHighWatermark = 8192
            $0.idleTimeout = 30
        }
        defer { server.stop() }
        for sequence in 1...3 { XCTAssertEqual(try server.publish("/pipe", "m\(sequence)").status, 202) }
        let client = try server.connect()
        let count = 3000
        var pipeline: [UInt8] = []
        for index in 0..<count {
            pipeline += Array("GET /pipe?last_message_sequence=\(index % 2 + 1) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        }
        let fd = client.fd, bytes = pipeline
        let sender = Thread {  // the server's answers are read meanwhile, on this thread
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let sent = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    if sent <= 0 { return }
                    offset += sent
                }
            }
        }
        sender.start()
        for index in 0..<count {
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.text, #"{"message":"m\#(index % 2 + 2)","last_sequence":\#(index % 2 + 2)}"#, "answer \(index)")
        }
    }
}
