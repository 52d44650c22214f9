import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// AUTH and SELECT against a real `redis-server --requirepass` and a real ACL user: replies are
/// checked, a refusal makes the node unhealthy (HEAD 503) and publishes 503 with the cause, and the
/// node recovers by itself (exponential backoff) once Redis accepts it.
final class RedisAuthTests: XCTestCase {
    private var redis: RedisProcess!
    private var nodes: [TestServer] = []

    override func tearDown() {
        for node in nodes { node.stop() }
        nodes = []
        redis?.stop()
    }

    private func node(_ url: String) throws -> TestServer {
        let endpoint = try XCTUnwrap(RedisEndpoint(url: url))
        let server = try TestServer {
            $0.backend = .redis
            $0.redis = endpoint
            $0.redisTimeout = 1
        }
        nodes.append(server)
        return server
    }

    /// The HEAD status, once it is `status` (bounded wait), else the last one seen.
    private func head(_ server: TestServer, becomes status: Int, within seconds: Double) -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        var last: Int?
        while Date() < deadline {
            last = (try? server.connect(timeout: 2).request(method: "HEAD", target: "/"))?.status
            if last == status { return last }
            usleep(50_000)
        }
        return last
    }

    /// A publish's answer once the node has tried Redis: until its first connection attempt ends,
    /// a publish is refused as "not connected yet" (and HEAD is already 503), which says nothing
    /// about the failure under test. Bounded wait; the last answer either way.
    private func refusal(_ server: TestServer, _ channel: String, _ body: String, within seconds: Double = 5) throws -> HTTPClientConnection.Response {
        let deadline = Date().addingTimeInterval(seconds)
        var answer = try server.publish(channel, body)
        while answer.text.contains("not connected yet"), Date() < deadline {
            usleep(50_000)
            answer = try server.publish(channel, body)
        }
        return answer
    }

    private func admin(_ password: String = "secret") throws -> RESPClient {
        let client = try redis.client()
        XCTAssertEqual(try client.command("AUTH", password), .status("OK"))
        return client
    }

    func testEndpointKeepsTheUser() {
        XCTAssertEqual(RedisEndpoint(url: "redis://firehose:pw@h:1/2"), RedisEndpoint(host: "h", port: 1, database: 2, password: "pw", user: "firehose"))
        XCTAssertEqual(RedisEndpoint(url: "redis://:pw@h"), RedisEndpoint(host: "h", password: "pw"))
        XCTAssertEqual(RedisEndpoint(url: "redis://pw@h")?.user, nil, "no colon: a password, as before")
        XCTAssertEqual(RedisEndpoint(url: "redis://u:p:q@h")?.password, "p:q", "the password may contain a colon")
        XCTAssertFalse(String(describing: RedisEndpoint(url: "redis://u:pw@h")!).contains("pw"), "no password in logs")
    }

    func testRightPasswordAndDatabase() throws {
        redis = try RedisProcess(arguments: ["--requirepass", "secret"])
        let server = try node("redis://:secret@127.0.0.1:\(redis.port)/3")
        XCTAssertEqual(head(server, becomes: 200, within: 5), 200)
        XCTAssertEqual(try server.publish("/auth", "hello").status, 202)
        let client = try admin()
        XCTAssertEqual(try client.command("SELECT", "3"), .status("OK"))
        XCTAssertEqual(try client.command("GET", "firehose:/auth:sequence").text, "1", "stored in database 3")
        XCTAssertEqual(try server.connect().request(method: "GET", target: "/auth").text, #"{"message":"hello","last_sequence":1}"#)
    }

    func testWrongPasswordIs503WithTheCauseThenRecovers() throws {
        redis = try RedisProcess(arguments: ["--requirepass", "secret"])
        let server = try node("redis://:wrong@127.0.0.1:\(redis.port)/0")
        XCTAssertEqual(head(server, becomes: 503, within: 5), 503)
        let refused = try refusal(server, "/auth", "lost")
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.text.contains("Redis refused authentication for user default"), refused.text)
        XCTAssertTrue(refused.text.contains("WRONGPASS"), "Redis's own reason: \(refused.text)")
        let client = try admin()
        XCTAssertEqual(try client.command("EXISTS", "firehose:/auth:sequence"), .integer(0), "nothing stored")
        // Redis now takes the node's password: it gets in at its next attempt (backoff 1, 2, 4 s...).
        XCTAssertEqual(try client.command("CONFIG", "SET", "requirepass", "wrong"), .status("OK"))
        XCTAssertEqual(head(server, becomes: 200, within: 20), 200)
        XCTAssertEqual(try server.publish("/auth", "kept").status, 202)
    }

    func testACLUser() throws {
        redis = try RedisProcess(arguments: ["--requirepass", "secret"])
        let client = try admin()
        XCTAssertEqual(try client.command("ACL", "SETUSER", "firehose", "on", ">pw", "~firehose:*", "&*", "+@all"), .status("OK"))
        let good = try node("redis://firehose:pw@127.0.0.1:\(redis.port)/0")
        XCTAssertEqual(head(good, becomes: 200, within: 5), 200)
        let published = try good.publish("/acl", "by acl")
        XCTAssertEqual(published.status, 202, published.text)
        XCTAssertEqual(try client.command("GET", "firehose:/acl:sequence").text, "1")
        let ws = try WebSocketClientConnection(host: "127.0.0.1", port: good.port, target: "/acl", timeout: 5)
        try ws.send(text: #"{"message_sequence":0}"#)
        XCTAssertEqual(try ws.receive().text, #"{"message":"by acl","last_sequence":1}"#, "the read works under the ACL user too")

        let bad = try node("redis://firehose:nope@127.0.0.1:\(redis.port)/0")
        XCTAssertEqual(head(bad, becomes: 503, within: 5), 503)
        let refused = try refusal(bad, "/acl", "lost")
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.text.contains("Redis refused authentication for user firehose"), refused.text)
    }

    func testRefusedSelect() throws {
        redis = try RedisProcess()
        let server = try node("redis://127.0.0.1:\(redis.port)/99")
        XCTAssertEqual(head(server, becomes: 503, within: 5), 503)
        let refused = try refusal(server, "/db", "lost")
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.text.contains("Redis refused SELECT 99"), refused.text)
    }

    func testRedisDownAtStartNamesTheCause() throws {
        redis = try RedisProcess()
        let port = redis.port
        redis.kill()
        let server = try node("redis://127.0.0.1:\(port)/0")
        XCTAssertEqual(head(server, becomes: 503, within: 5), 503)
        let refused = try refusal(server, "/down", "lost")
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.text.contains("cannot connect to redis://127.0.0.1:\(port)/0: Connection refused"), refused.text)
        try redis.start()
        XCTAssertEqual(head(server, becomes: 200, within: 10), 200)
    }
}
