import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// Channels expire and are freed; connections are bounded in time and size.
final class ChannelLifecycleTests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws { server = try TestServer { $0.maxBodyBytes = 1024 } }
    override func tearDown() { server.stop() }

    func testExpiredChannelsRestartAtOneAndAreFreed() throws {
        for i in 0..<50 { try server.publish("/ttl/\(i)", "x", headers: [("Cache-Control", "max-age=1")]) }
        try server.publish("/kept", "x", headers: [("X-Firehose-Persist", "true"), ("Cache-Control", "max-age=1")])
        XCTAssertEqual(server.census().channels, 51)
        XCTAssertTrue(server.eventually(timeout: 4) { $0.channels == 1 }, "expired channels freed by the sweep")
        try server.publish("/ttl/0", "again")
        XCTAssertEqual(try server.connect().request(method: "GET", target: "/ttl/0").text, #"{"message":"again","last_sequence":1}"#)
        XCTAssertEqual(try server.connect().request(method: "GET", target: "/kept").text, #"{"message":"x","last_sequence":1}"#)
    }

    func testMaxAgeZeroDeliversLiveButKeepsNothing() throws {
        let waiting = try server.connect()
        try waiting.send(method: "GET", target: "/now")
        XCTAssertTrue(server.eventually { $0.waiting == 1 })
        try server.publish("/now", "live", headers: [("Cache-Control", "max-age=0")])
        XCTAssertEqual(try waiting.readResponse().text, #"{"message":"live","last_sequence":1}"#)
        XCTAssertTrue(server.eventually { $0.channels == 0 })
        try server.publish("/now", "next")
        XCTAssertEqual(try waiting.request(method: "GET", target: "/now").text, #"{"message":"next","last_sequence":1}"#)
    }

    func testIdleConnectionIsClosedButAHeldPollIsNot() throws {
        let idle = try server.connect()
        XCTAssertEqual(try idle.request(method: "HEAD", target: "/x").status, 200)
        let holding = try server.connect()
        try holding.send(method: "GET", target: "/held")
        XCTAssertEqual(idle.nextEvent(within: 3.5), .closed, "idle keep-alive closed after the 2 s idle timeout")
        XCTAssertEqual(try holding.readResponse().status, 204, "the held poll got its 204 instead")
    }

    func testOversizedBodyIs413AndHeaderFlood431() throws {
        let big = try server.connect()
        try big.send(Array("PUT /big HTTP/1.1\r\nContent-Length: 2048\r\n\r\n".utf8) + [UInt8](repeating: 97, count: 2048))
        XCTAssertEqual(try big.readResponse().status, 413)
        XCTAssertEqual(big.nextEvent(within: 3), .closed)
        let flood = try server.connect()
        try flood.send(Array("GET /x HTTP/1.1\r\nX-Flood: \(String(repeating: "a", count: 40_000))\r\n\r\n".utf8))
        XCTAssertEqual(try flood.readResponse().status, 431)
        XCTAssertEqual(server.census().channels, 0, "nothing was published")
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let client = try server.connect()
        var batch = "PUT /pipe HTTP/1.1\r\nContent-Length: 3\r\n\r\none"
        batch += "GET /pipe HTTP/1.1\r\n\r\n"
        batch += "PUT /pipe HTTP/1.1\r\nContent-Length: 3\r\n\r\ntwo"
        batch += "GET /pipe?last_message_sequence=1 HTTP/1.1\r\n\r\n"
        try client.send(Array(batch.utf8))
        XCTAssertEqual(try client.readResponse().status, 202)
        XCTAssertEqual(try client.readResponse().text, #"{"message":"one","last_sequence":1}"#)
        XCTAssertEqual(try client.readResponse().status, 202)
        XCTAssertEqual(try client.readResponse().text, #"{"message":"two","last_sequence":2}"#)
    }

    func testInvalidUTF8IsRefusedAndNothingPublished() throws {
        let client = try server.connect()
        try client.send(Array("PUT /bin HTTP/1.1\r\nContent-Length: 4\r\n\r\n".utf8) + [0xFF, 0xFE, 0x80, 0x61])
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.header("Content-Type"), "text/plain")
        XCTAssertEqual(server.census().channels, 0)
    }
}
