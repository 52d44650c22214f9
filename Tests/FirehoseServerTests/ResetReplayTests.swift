import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient
import FirehoseCore

/// The issue's restart scenario (spec EXT-13, WSX-13): m1..m3 published, the channel reset (a
/// server restart, Redis restarted empty, FLUSHALL), n1 and n2 published; a client resuming with
/// `last_message_sequence=3` gets n1 at once, over long-poll, WebSocket and multiplexing alike.
final class ResetReplayTests: XCTestCase {
    private var redis: RedisProcess?
    private var servers: [TestServer] = []

    override func tearDown() {
        for server in servers { server.stop() }
        servers = []
        redis?.stop()
    }

    private func memoryServer() throws -> TestServer {
        let server = try TestServer { $0.longPollTimeout = 5 }
        servers.append(server)
        return server
    }

    private func redisNode() throws -> TestServer {
        let endpoint = RedisEndpoint(url: redis!.url)!
        let server = try TestServer {
            $0.backend = .redis
            $0.redis = endpoint
            $0.redisTimeout = 1
            $0.longPollTimeout = 5
        }
        servers.append(server)
        XCTAssertTrue(healthy(server), "the node reaches Redis")
        return server
    }

    /// Waits (bounded) until the node's HEAD health check says both Redis connections are up.
    private func healthy(_ server: TestServer, within seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? server.connect(timeout: 1).request(method: "HEAD", target: "/"))?.status == 200 { return true }
            usleep(20_000)
        }
        return false
    }

    private func publish(_ server: TestServer, _ channel: String, _ bodies: [String]) throws {
        let connection = try server.connect()
        for body in bodies { XCTAssertEqual(try server.publish(channel, body, on: connection).status, 202, body) }
    }

    /// What a client resuming with sequence 3 gets on each transport, right after n1 and n2.
    private func assertResumingAtThreeGetsTheNewGeneration(_ server: TestServer, _ channel: String,
                                                           file: StaticString = #filePath, line: UInt = #line) throws {
        let poll = try server.connect()
        XCTAssertEqual(try poll.request(method: "GET", target: "\(channel)?last_message_sequence=3").text,
                       #"{"message":"n1","last_sequence":1}"#, "long-poll", file: file, line: line)
        XCTAssertEqual(try poll.request(method: "GET", target: "\(channel)?last_message_sequence=1").text,
                       #"{"message":"n2","last_sequence":2}"#, "long-poll, next", file: file, line: line)
        XCTAssertEqual(try server.connect().request(method: "GET", target: "/channels@firehose?subscribe=\(channel)!3").text,
                       #"{"channel":"\#(channel)","message":"n1","last_sequence":1}"#, "multiplexed GET", file: file, line: line)
        XCTAssertEqual(try server.connect().request(method: "POST", target: "/channels@firehose", body: Array(#"{"\#(channel)":3}"#.utf8)).text,
                       #"{"channel":"\#(channel)","message":"n1","last_sequence":1}"#, "multiplexed POST", file: file, line: line)
        let ws = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: channel, timeout: 5)
        try ws.send(text: #"{"message_sequence":3}"#)
        XCTAssertEqual(try ws.receive().text, #"{"message":"n1","last_sequence":1}"#, "WebSocket", file: file, line: line)
        XCTAssertEqual(try ws.receive().text, #"{"message":"n2","last_sequence":2}"#, "WebSocket", file: file, line: line)
        let mux = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/channels@firehose?subscribe=\(channel)!3", timeout: 5)
        XCTAssertEqual(try mux.receive().text, #"{"channel":"\#(channel)","message":"n1","last_sequence":1}"#, "multiplexed WebSocket", file: file, line: line)
        XCTAssertEqual(try mux.receive().text, #"{"channel":"\#(channel)","message":"n2","last_sequence":2}"#, "multiplexed WebSocket", file: file, line: line)
    }

    /// A WebSocket subscriber that was level at 3 before the reset: it must get n1 and n2 live.
    private func levelSocket(_ server: TestServer, _ channel: String) throws -> WebSocketClientConnection {
        try server.subscribedWebSocket(channel, from: 3, "subscribed, nothing replayed")
    }

    func testMemoryServerRestart() throws {
        let before = try memoryServer()
        try publish(before, "/reset", ["m1", "m2", "m3"])
        before.stop()
        servers.removeAll { $0 === before }
        let after = try memoryServer()
        try publish(after, "/reset", ["n1", "n2"])
        try assertResumingAtThreeGetsTheNewGeneration(after, "/reset")
    }

    func testMemoryServerRestartEmptyChannelWaitsForTheNext() throws {
        let server = try memoryServer()
        let poll = try server.connect()
        try poll.send(method: "GET", target: "/empty?last_message_sequence=3")
        XCTAssertEqual(poll.nextEvent(within: 0.3), .silent, "nothing to give yet")
        try publish(server, "/empty", ["n1"])
        XCTAssertEqual(try poll.readResponse().text, #"{"message":"n1","last_sequence":1}"#)
    }

    func testRedisRestartedEmpty() throws {
        redis = try RedisProcess()
        let node = try redisNode()
        try publish(node, "/reset", ["m1", "m2", "m3"])
        let waiting = try levelSocket(node, "/reset")
        redis!.kill()
        try redis!.start()  // not persistent: it comes back empty
        XCTAssertTrue(healthy(node), "the node reconnects")
        try publish(node, "/reset", ["n1", "n2"])
        XCTAssertEqual(try waiting.receive().text, #"{"message":"n1","last_sequence":1}"#, "a subscriber waiting across the reset")
        XCTAssertEqual(try waiting.receive().text, #"{"message":"n2","last_sequence":2}"#)
        try assertResumingAtThreeGetsTheNewGeneration(node, "/reset")
    }

    func testRedisFlushAll() throws {
        redis = try RedisProcess()
        let node = try redisNode(), other = try redisNode()
        try publish(node, "/reset", ["m1", "m2", "m3"])
        let waiting = try levelSocket(node, "/reset")
        // The other node has a current window at 3 too: a client at 3 there is level, until the flush.
        let level = try other.connect()
        try level.send(method: "GET", target: "/reset?last_message_sequence=3")
        XCTAssertEqual(level.nextEvent(within: 0.3), .silent)
        XCTAssertEqual(try redis!.client().command("FLUSHALL"), .status("OK"))
        try publish(other, "/reset", ["n1", "n2"])
        XCTAssertEqual(try level.readResponse().text, #"{"message":"n1","last_sequence":1}"#, "a long-poll waiting across the flush")
        XCTAssertEqual(try waiting.receive().text, #"{"message":"n1","last_sequence":1}"#, "a subscriber waiting across the flush")
        XCTAssertEqual(try waiting.receive().text, #"{"message":"n2","last_sequence":2}"#)
        try assertResumingAtThreeGetsTheNewGeneration(node, "/reset")
        try assertResumingAtThreeGetsTheNewGeneration(other, "/reset")
    }
}
