import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// No stale bodies: two nodes hold old1..old3 in their windows; while they are cut off, Redis
/// comes back empty and a third node publishes new1..new3 at the *same* sequences. Once the two
/// reconnect, neither serves old1..old3 again (the sequence alone cannot tell them apart).
final class StaleWindowTests: XCTestCase {
    private var redis: RedisProcess!
    private var nodes: [TestServer] = []

    override func tearDown() {
        for node in nodes { node.stop() }
        nodes = []
        redis?.stop()
    }

    private func node() throws -> TestServer {
        let endpoint = RedisEndpoint(url: redis.url)!
        let server = try TestServer {
            $0.backend = .redis
            $0.redis = endpoint
            $0.redisTimeout = 1
            $0.longPollTimeout = 5
        }
        nodes.append(server)
        XCTAssertTrue(healthy(server))
        return server
    }

    private func healthy(_ server: TestServer, within seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? server.connect(timeout: 1).request(method: "HEAD", target: "/"))?.status == 200 { return true }
            usleep(20_000)
        }
        return false
    }

    /// Freezes a node's loop (it reads nothing, as if cut off) until the returned closure is called.
    private func cutOff(_ server: TestServer) -> () -> Void {
        let frozen = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        server.server.loop.execute {
            frozen.signal()
            release.wait()
        }
        frozen.wait()
        return { release.signal() }
    }

    func testSameSequencesWithNewBodiesAfterACutOff() throws {
        redis = try RedisProcess()
        let a = try node(), b = try node()
        let publisher = try a.connect()
        for body in ["old1", "old2", "old3"] { XCTAssertEqual(try a.publish("/gen", body, on: publisher).status, 202) }
        // Each node gets a current window at 3: a WebSocket level with it, and a catch-up read.
        var sockets: [WebSocketClientConnection] = []
        for server in [a, b] {
            XCTAssertEqual(try server.connect().request(method: "GET", target: "/gen?last_message_sequence=2").text,
                           #"{"message":"old3","last_sequence":3}"#)
            sockets.append(try server.subscribedWebSocket("/gen", from: 3))
        }
        let releases = [cutOff(a), cutOff(b)]
        redis.kill()
        try redis.start()  // empty
        let third = try node()
        for body in ["new1", "new2", "new3"] { XCTAssertEqual(try third.publish("/gen", body).status, 202) }
        for release in releases { release() }
        for server in [a, b] {
            XCTAssertTrue(healthy(server), "reconnected")
            XCTAssertEqual(try server.connect().request(method: "GET", target: "/gen?last_message_sequence=2").text,
                           #"{"message":"new3","last_sequence":3}"#, "long-poll one behind")
            XCTAssertEqual(try server.connect().request(method: "GET", target: "/gen").text,
                           #"{"message":"new3","last_sequence":3}"#, "long-poll latest")
            XCTAssertEqual(try server.connect().request(method: "GET", target: "/channels@firehose?subscribe=/gen!1").text,
                           #"{"channel":"/gen","message":"new2","last_sequence":2}"#, "multiplexed")
            let ws = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/gen", timeout: 5)
            try ws.send(text: #"{"message_sequence":1}"#)
            XCTAssertEqual(try ws.receive().text, #"{"message":"new2","last_sequence":2}"#, "WebSocket catch-up")
            XCTAssertEqual(try ws.receive().text, #"{"message":"new3","last_sequence":3}"#, "WebSocket catch-up")
        }
        XCTAssertEqual(try third.publish("/gen", "new4").status, 202)
        // The subscribers that were level at 3 saw only old1..old3: they are given the store's
        // whole new history (nothing in common with what they saw), then go on with it.
        for ws in sockets {
            for sequence in 1...4 {
                XCTAssertEqual(try ws.receive().text, #"{"message":"new\#(sequence)","last_sequence":\#(sequence)}"#,
                               "the level subscriber is given the new history")
            }
        }
    }
}
