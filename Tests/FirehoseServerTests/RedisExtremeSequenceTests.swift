import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// Sequences at the edges of the 64-bit range, written into Redis by someone else (or a client
/// asking for them), must not trap anywhere: RedisBackend and LocalChannel saturate or refuse.
final class RedisExtremeSequenceTests: XCTestCase {
    private var redis: RedisProcess!
    private var server: TestServer?

    override func tearDown() {
        server?.stop()
        redis?.stop()
    }

    func testSequencesNearTheEdgesDoNotCrash() throws {
        redis = try RedisProcess()
        let endpoint = RedisEndpoint(url: redis.url)!
        let node = try TestServer {
            $0.backend = .redis
            $0.redis = endpoint
            $0.redisTimeout = 1
            $0.longPollTimeout = 1
        }
        server = node
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try? node.connect(timeout: 1).request(method: "HEAD", target: "/"))?.status != 200 { usleep(20_000) }
        let client = try redis.client()
        let max = String(Int.max)
        try client.command("SET", "firehose:/max:sequence", max)
        try client.command("LPUSH", "firehose:/max:list", "top-1", "top")
        // Catch-ups at the top of the range: latest, one behind, level, ahead, saturated beyond.
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/max").text, #"{"message":"top","last_sequence":\#(max)}"#)
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/max?last_message_sequence=\(Int.max - 2)").text,
                       #"{"message":"top-1","last_sequence":\#(Int.max - 1)}"#)
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/max?last_message_sequence=\(max)").status, 204, "level: waits")
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/max?last_message_sequence=99999999999999999999999").status, 204,
                       "saturates to Int.max: level")
        // A subscriber level at the top, and pub/sub announcing a sequence past it, below it, at Int.min.
        let ws = try node.subscribedWebSocket("/max", from: Int.max, timeout: 5)
        for payload in ["/max\n\(max)\nagain", "/max\n\(Int.min)\nmin", "/max\n99999999999999999999999\nhuge", "/max\n-1\nneg", "/max\n5\nlow"] {
            try client.command("PUBLISH", "firehose:channel_updates", payload)
        }
        // Out-of-range values someone SET: saturated (huge) or 0 (negative, garbage).
        for stored in ["99999999999999999999999", "-5", "garbage"] {
            try client.command("SET", "firehose:/odd:sequence", stored)
            XCTAssertNotNil(try? node.connect().request(method: "GET", target: "/odd?last_message_sequence=3"), "answered for \(stored)")
        }
        // Still alive and serving.
        try ws.send(text: #"{"ping":"PING"}"#)
        XCTAssertEqual(try ws.receive().text, #"{"pong":"PONG"}"#)
        XCTAssertEqual(try node.publish("/fine", "ok").status, 202)
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/fine").text, #"{"message":"ok","last_sequence":1}"#)
    }
}
