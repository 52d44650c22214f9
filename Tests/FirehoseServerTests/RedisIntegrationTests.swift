import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient
import FirehoseCore

/// The redis backend against a real redis-server: several nodes, interoperation with the
/// reference's exact Redis commands and payloads, and Redis failing under load.
final class RedisIntegrationTests: XCTestCase {
    private var redis: RedisProcess!
    private var nodes: [TestServer] = []

    override func tearDown() {
        for node in nodes { node.stop() }
        nodes = []
        redis?.stop()
    }

    private func startRedis(persistent: Bool = false) throws {
        redis = try RedisProcess(persistent: persistent)
    }

    private func node(timeout: Double = 1) throws -> TestServer {
        let endpoint = RedisEndpoint(url: redis.url)!
        let server = try TestServer {
            $0.backend = .redis
            $0.redis = endpoint
            $0.redisTimeout = timeout
            $0.longPollTimeout = 5
        }
        // Ready once both Redis connections are up (the health check needs both).
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, (try? server.connect().request(method: "HEAD", target: "/"))?.status != 200 { usleep(20_000) }
        nodes.append(server)
        return server
    }

    private func socket(_ server: TestServer, _ target: String) throws -> WebSocketClientConnection {
        try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: target)
    }

    func testPublishOnOneNodeReachesSubscribersOnAnother() throws {
        try startRedis()
        let a = try node(), b = try node()
        let poll = try b.connect()
        try poll.send(method: "GET", target: "/multi?last_message_sequence=0")
        let ws = try socket(b, "/channels@firehose?subscribe=/multi!0")
        usleep(200_000)
        XCTAssertEqual(try a.publish("/multi", "from-a").status, 202)
        XCTAssertEqual(try poll.readResponse().text, #"{"message":"from-a","last_sequence":1}"#)
        XCTAssertEqual(try ws.receive().text, #"{"channel":"/multi","message":"from-a","last_sequence":1}"#)
        // Catch-up on B from what A stored.
        XCTAssertEqual(try a.publish("/multi", "two").status, 202)
        XCTAssertEqual(try b.connect().request(method: "GET", target: "/multi?last_message_sequence=1").text, #"{"message":"two","last_sequence":2}"#)
    }

    /// A node of ours next to a Ruby node: the Ruby node's writes are simulated with exactly the
    /// reference's Redis commands, and what we write is checked key by key and byte by byte.
    func testKeyAndPayloadCompatibilityWithTheReference() throws {
        try startRedis()
        let ours = try node()
        let redisClient = try redis.client()

        // Ruby -> ours: SET/LPUSH/LTRIM/PUBLISH/EXPIRE as its script does them.
        let ws = try socket(ours, "/ruby")
        try ws.send(text: #"{"message_sequence":0}"#)
        usleep(200_000)
        try redisClient.command("SET", "firehose:/ruby:sequence", "1")
        try redisClient.command("LPUSH", "firehose:/ruby:list", "from ruby\nwith a newline")
        try redisClient.command("LTRIM", "firehose:/ruby:list", "0", "99")
        try redisClient.command("PUBLISH", "firehose:channel_updates", "/ruby\n1\nfrom ruby\nwith a newline")
        try redisClient.command("EXPIRE", "firehose:/ruby:sequence", "86400")
        try redisClient.command("EXPIRE", "firehose:/ruby:list", "86400")
        XCTAssertEqual(try ws.receive().text, #"{"message":"from ruby\nwith a newline","last_sequence":1}"#)

        // Ours -> Ruby: the keys, the list order, the TTLs and the pub/sub payload it reads.
        let listener = try redis.client()
        try listener.command("SUBSCRIBE", "firehose:channel_updates")
        XCTAssertEqual(try ours.publish("/ruby", "from swift").status, 202)
        XCTAssertEqual(try ours.publish("/kept", "forever", headers: [("X-Firehose-Persist", "true")]).status, 202)
        XCTAssertEqual(try ours.publish("/small", "a", headers: [("X-Firehose-Buffer-Size", "0"), ("Cache-Control", "max-age=60")]).status, 202)
        XCTAssertEqual(try listener.read(), .array([.bulk(Array("message".utf8)), .bulk(Array("firehose:channel_updates".utf8)), .bulk(Array("/ruby\n2\nfrom swift".utf8))]))
        XCTAssertEqual(try redisClient.command("GET", "firehose:/ruby:sequence").text, "2")
        XCTAssertEqual(try redisClient.command("LRANGE", "firehose:/ruby:list", "0", "-1"),
                       .array([.bulk(Array("from swift".utf8)), .bulk(Array("from ruby\nwith a newline".utf8))]))
        guard case let .integer(ttl) = try redisClient.command("TTL", "firehose:/ruby:list") else { return XCTFail("no TTL") }
        XCTAssertTrue((86_390...86_400).contains(ttl))
        XCTAssertEqual(try redisClient.command("TTL", "firehose:/kept:sequence"), .integer(-1))
        XCTAssertEqual(try redisClient.command("TTL", "firehose:/kept:list"), .integer(-1))
        XCTAssertEqual(try redisClient.command("EXISTS", "firehose:/small:list"), .integer(0), "buffer size 0 deletes the list")
        XCTAssertEqual(try redisClient.command("GET", "firehose:/small:sequence").text, "1")
        // The health check leaves no keys behind.
        XCTAssertEqual(try ours.connect().request(method: "HEAD", target: "/anything").status, 200)
        guard case let .array(keys) = try redisClient.command("KEYS", "*") else { return XCTFail("KEYS failed") }
        XCTAssertEqual(Set(keys.compactMap(\.text)), ["firehose:/ruby:sequence", "firehose:/ruby:list", "firehose:/kept:sequence",
                                                      "firehose:/kept:list", "firehose:/small:sequence"])
    }

    /// Redis dies and comes back with its data during a 200-message run: subscribers on both
    /// transports get every message exactly once, in order, and the server never crashes.
    func testRedisRestartMidStreamLosesNothingItKept() throws {
        try startRedis(persistent: true)
        let server = try node()
        let port = server.port
        let total = 200
        let longPoll = Box<[LongPollFrame]>([]), webSocket = Box<[LongPollFrame]>([])
        let group = DispatchGroup()
        followLongPoll(port: port, channel: "/restart", count: total, into: longPoll, seconds: 60, group: group)
        let ws = try socket(server, "/restart")
        try ws.send(text: #"{"message_sequence":0}"#)
        let wsBox = Box(ws)
        DispatchQueue.global().async(group: group) {
            while webSocket.value!.count < total, let frame = try? wsBox.value!.receive(), let parsed = LongPollFrame(json: frame.payload) {
                webSocket.value!.append(parsed)
            }
        }
        usleep(300_000)
        var publisher = try server.connect()
        var unavailable = 0
        var redisDown = false
        for i in 1...total {
            if i == 80 {
                redis.kill()
                redisDown = true
            }
            while true {  // a publisher retries what was not accepted
                if let response = try? publisher.request(method: "PUT", target: "/restart", body: Array("m-\(i)".utf8)), response.status == 202 { break }
                unavailable += 1
                if redisDown, unavailable >= 5 {
                    try redis.start()  // back, with what it had written to its append-only file
                    redisDown = false
                }
                usleep(50_000)
                if let fresh = try? server.connect() { publisher = fresh }
            }
            usleep(UInt32.random(in: 0...3_000))
        }
        XCTAssertGreaterThan(unavailable, 0, "publishes were refused while Redis was down")
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        for (name, frames) in [("long-poll", longPoll.value!), ("WebSocket", webSocket.value!)] {
            XCTAssertEqual(frames.map(\.lastSequence), Array(1...frames.count), "\(name): every sequence once, in order")
            let numbers = frames.map { Int($0.message.dropFirst(2))! }
            XCTAssertEqual(Set(numbers), Set(1...total), "\(name): every message delivered")
            XCTAssertEqual(numbers, numbers.sorted(), "\(name): in publish order")
        }
    }

    func testHungRedisGives503sThenRecovers() throws {
        try startRedis()
        let server = try node(timeout: 1)
        XCTAssertEqual(try server.publish("/hung", "before").status, 202)
        redis.pause()
        let started = Date()
        let refused = try server.publish("/hung", "during")
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.header("Content-Type"), "text/plain")
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "answered within the Redis timeout")
        XCTAssertEqual(try server.connect().request(method: "HEAD", target: "/").status, 503)
        redis.resume()
        let deadline = Date().addingTimeInterval(10)
        var status = 0
        while Date() < deadline {
            status = (try? server.publish("/hung", "after"))?.status ?? 0
            if status == 202 { break }
            usleep(100_000)
        }
        XCTAssertEqual(status, 202, "publishing resumes after Redis recovers")
        XCTAssertEqual(try server.connect().request(method: "HEAD", target: "/").status, 200)
    }
}
