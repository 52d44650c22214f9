import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// Catch-up reads against a real Redis: only what the reader can be given is read, so the cost of
/// a catch-up follows how far behind the reader is, not the length of the channel's list; and
/// readers that give up while Redis is down do not pile up in the pending reads.
final class RedisCatchUpTests: XCTestCase {
    private var redis: RedisProcess!
    private var nodes: [TestServer] = []

    override func tearDown() {
        for node in nodes { node.stop() }
        nodes = []
        redis?.stop()
    }

    private func node(longPollTimeout: Double = 5) throws -> TestServer {
        let endpoint = RedisEndpoint(url: redis.url)!
        let server = try TestServer {
            $0.backend = .redis
            $0.redis = endpoint
            $0.redisTimeout = 1
            $0.longPollTimeout = longPollTimeout
        }
        nodes.append(server)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try? server.connect(timeout: 1).request(method: "HEAD", target: "/"))?.status != 200 { usleep(20_000) }
        return server
    }

    /// `count` messages of `size` bytes, stored in Redis directly as the publish script would
    /// (message i is "i" padded with x), newest first, with the sequence at `count`.
    private func fill(_ channel: String, count: Int, size: Int) throws {
        let client = try redis.client()
        let script = """
            for i = 1, tonumber(ARGV[1]) do
              local head = tostring(i)
              redis.call('LPUSH', KEYS[2], head .. string.rep('x', tonumber(ARGV[2]) - #head))
            end
            redis.call('SET', KEYS[1], ARGV[1])
            return 1
            """
        XCTAssertEqual(try client.command("EVAL", script, "2", "firehose:\(channel):sequence", "firehose:\(channel):list", String(count), String(size)), .integer(1))
    }

    private func redisOutputBytes(_ client: RESPClient) throws -> Int {
        guard let info = try client.command("INFO", "stats").text,
              let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("total_net_output_bytes:") }),
              let value = Int(line.dropFirst("total_net_output_bytes:".count)) else { throw RESPClient.Failure.io("no INFO stats") }
        return value
    }

    /// One long-poll one message behind: Redis sends about one body, whatever the list holds;
    /// the time is printed for the record (both channels, same node).
    func testCatchUpOfOneMessageReadsOneMessage() throws {
        redis = try RedisProcess()
        let server = try node()
        try fill("/big", count: 1000, size: 100 * 1024)
        try fill("/small", count: 10, size: 100 * 1024)
        let client = try redis.client()
        var timings: [String: [Double]] = [:]
        for (channel, last) in [("/small", 9), ("/big", 999)] {
            for _ in 0..<5 {
                let connection = try server.connect()
                let before = try redisOutputBytes(client)
                let started = Date()
                let response = try connection.request(method: "GET", target: "\(channel)?last_message_sequence=\(last)")
                timings[channel, default: []].append(Date().timeIntervalSince(started))
                let sent = try redisOutputBytes(client) - before
                XCTAssertEqual(response.status, 200)
                XCTAssertTrue(response.text.hasPrefix(#"{"message":"\#(last + 1)xxx"#), "the next message")
                // One 100 KB body plus the INFO reply itself; reading the list would be 100 MB.
                XCTAssertLessThan(sent, 110 * 1024, "\(channel): Redis sent \(sent) bytes for one catch-up")
            }
        }
        let median = { (values: [Double]) in values.sorted()[values.count / 2] * 1000 }
        print("catch-up of one 100 KB message, median of 5: 10-message channel \(String(format: "%.2f", median(timings["/small"]!))) ms, 1,000-message channel \(String(format: "%.2f", median(timings["/big"]!))) ms")
        // A WebSocket ten behind is given ten messages, read in one go.
        let before = try redisOutputBytes(client)
        let ws = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/big", timeout: 10)
        try ws.send(text: #"{"message_sequence":990}"#)
        for expected in 991...1000 { XCTAssertTrue(try ws.receive().text.hasPrefix(#"{"message":"\#(expected)x"#)) }
        let sent = try redisOutputBytes(client) - before
        XCTAssertTrue((10 * 100 * 1024..<11 * 100 * 1024).contains(sent), "ten bodies read: \(sent) bytes")
    }

    /// A subscriber joining a read already in flight, at a position that read did not ask for
    /// (the read was bounded for a level reader; the newcomer wants the latest), is served by a
    /// follow-up read, not left waiting.
    func testJoiningAReadInFlightAtAnotherPosition() throws {
        redis = try RedisProcess()
        let endpoint = RedisEndpoint(url: redis.url)!
        let server = try TestServer {
            $0.backend = .redis
            $0.redis = endpoint
            $0.redisTimeout = 10
        }
        nodes.append(server)
        XCTAssertTrue(waitForHead(server, 200))
        for body in ["m1", "m2", "m3"] { XCTAssertEqual(try server.publish("/join", body).status, 202) }
        redis.pause()  // the read below stays in flight
        let level = try server.subscribedWebSocket("/join", from: 3, "subscribed: its read is on its way")
        let latest = try server.subscribedWebSocket("/join", from: 0)
        redis.resume()
        XCTAssertEqual(try latest.receive().text, #"{"message":"m3","last_sequence":3}"#, "the latest, from a follow-up read")
        XCTAssertEqual(try server.publish("/join", "m4").status, 202)
        XCTAssertEqual(try level.receive().text, #"{"message":"m4","last_sequence":4}"#)
        XCTAssertEqual(try latest.receive().text, #"{"message":"m4","last_sequence":4}"#)
    }

    /// Eight multiplexed pollers (eight channels each) re-polling at every timeout while Redis is
    /// down: the subscriptions that timed out leave the pending reads at once, so what waits stays
    /// at one poll's worth (64) instead of growing by 64 a second.
    func testPollersWhileRedisIsDownDoNotPileUp() throws {
        redis = try RedisProcess()
        let server = try node(longPollTimeout: 0.5)
        redis.kill()
        XCTAssertTrue(waitForHead(server, 503))
        let seconds = Double(ProcessInfo.processInfo.environment["FIREHOSE_REDIS_DOWN_SECONDS"] ?? "") ?? 8
        let channels = (1...8).map { "/down/\($0)!0" }.joined(separator: ",")
        let group = DispatchGroup()
        let polls = Box<Int>(0), lock = NSLock()
        for _ in 0..<8 {
            DispatchQueue.global().async(group: group) {
                guard let connection = try? HTTPClientConnection(host: "127.0.0.1", port: server.port, timeout: 5) else { return }
                let deadline = Date().addingTimeInterval(seconds)
                while Date() < deadline {
                    guard (try? connection.request(method: "GET", target: "/channels@firehose?subscribe=\(channels)"))?.status == 204 else { return }
                    lock.lock(); polls.value! += 1; lock.unlock()
                }
            }
        }
        var most = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            most = max(most, server.onLoop { (server.server.context.backend as! RedisBackend).waitingForReads })
            usleep(50_000)
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertGreaterThan(polls.value!, 8 * Int(seconds), "every poller re-polled at each timeout")
        XCTAssertLessThanOrEqual(most, 64, "at most one poll's subscriptions wait for reads (\(polls.value!) polls in \(seconds) s)")
        XCTAssertEqual(server.onLoop { (server.server.context.backend as! RedisBackend).waitingForReads }, 0, "none left once they stopped")
    }

    /// Read-script runs so far (publishes go by EVALSHA once the script is loaded).
    private func evalCalls(_ client: RESPClient) throws -> Int {
        guard let info = try client.command("INFO", "commandstats").text else { throw RESPClient.Failure.io("no INFO commandstats") }
        guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_eval:") }) else { return 0 }
        guard let calls = line.split(separator: ",").first?.split(separator: "=").last, let value = Int(calls) else {
            throw RESPClient.Failure.io("unreadable: \(line)")
        }
        return value
    }

    /// A long-poll that re-polls level with the node's window after each answer waits on that
    /// window: the window outlives the poll that emptied it, so the re-polls cost Redis no reads.
    /// It is dropped once nobody has used it for `idleRetention`.
    func testRepollsLevelWithTheWindowNeedNoRead() throws {
        redis = try RedisProcess()
        let server = try node(longPollTimeout: 2)
        let client = try redis.client()
        XCTAssertEqual(try server.publish("/level", "m1").status, 202)
        let poll = try server.connect()
        try poll.send(method: "GET", target: "/level?last_message_sequence=1")  // read once, then waits here
        usleep(200_000)
        let before = try evalCalls(client)
        let publisher = try server.connect()
        for i in 2...21 {
            XCTAssertEqual(try server.publish("/level", "m\(i)", on: publisher).status, 202)
            XCTAssertEqual(try poll.readResponse().text, #"{"message":"m\#(i)","last_sequence":\#(i)}"#)
            try poll.send(method: "GET", target: "/level?last_message_sequence=\(i)")
            let waiting = Date().addingTimeInterval(3)
            while Date() < waiting, !server.onLoop({ (server.server.context.backend as! RedisBackend).channels["/level"]?.hasSubscribers == true }) {
                usleep(1_000)
            }
        }
        XCTAssertEqual(try evalCalls(client) - before, 0, "20 re-polls level with the window, no read")
        // The last poll times out (2 s), then the idle window goes within `idleRetention` more.
        XCTAssertEqual(try poll.readResponse().status, 204)
        let backend = { server.onLoop { (server.server.context.backend as! RedisBackend).channelCount } }
        XCTAssertEqual(backend(), 1, "kept after its last poll ended")
        let deadline = Date().addingTimeInterval(RedisBackend.idleRetention + 3)
        while Date() < deadline, backend() > 0 { usleep(50_000) }
        XCTAssertEqual(backend(), 0, "dropped once idle")
    }

    private func waitForHead(_ server: TestServer, _ status: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? server.connect(timeout: 1).request(method: "HEAD", target: "/"))?.status == status { return true }
            usleep(20_000)
        }
        return false
    }
}
