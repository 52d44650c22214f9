import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

final class LongPollIntegrationTests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws { server = try TestServer() }
    override func tearDown() { server.stop() }

    func testPublishThenGetReturnsTheFrame() throws {
        let put = try server.publish("/hello", "hi")
        XCTAssertEqual(put.status, 202)
        XCTAssertEqual(put.header("Content-Type"), "text/plain")
        let get = try server.connect().request(method: "GET", target: "/hello")
        XCTAssertEqual(get.status, 200)
        XCTAssertEqual(get.text, #"{"message":"hi","last_sequence":1}"#)
        XCTAssertNil(get.header("Content-Type"))
    }

    func testWaitingPollIsAnsweredByPublishAndTimesOutWith204() throws {
        let waiting = try server.connect()
        try waiting.send(method: "GET", target: "/wait?last_message_sequence=0")
        XCTAssertTrue(server.eventually { $0.waiting == 1 })
        try server.publish("/wait", "now")
        XCTAssertEqual(try waiting.readResponse().text, #"{"message":"now","last_sequence":1}"#)
        let started = Date()
        let timedOut = try waiting.request(method: "GET", target: "/wait?last_message_sequence=1")
        XCTAssertEqual(timedOut.status, 204)
        XCTAssertEqual(Date().timeIntervalSince(started), 1, accuracy: 0.5, "the configured long-poll timeout")
        // The connection stays usable after the 204.
        XCTAssertEqual(try waiting.request(method: "GET", target: "/wait").status, 200)
    }

    /// The reference can skip a message when a poller re-polls while publishes race it; we must not.
    func testTwoRepollingClientsReceiveAll200InOrder() throws {
        let count = 200
        let results = [Box<[LongPollFrame]>([]), Box<[LongPollFrame]>([])]
        let group = DispatchGroup()
        let port = server.port
        for result in results {
            followLongPoll(port: port, channel: "/race", count: count, into: result, seconds: 30, group: group)
        }
        // Let both pollers park first, so "0 = latest" does not skip the first messages.
        XCTAssertTrue(server.eventually { $0.waiting == 2 })
        let publisher = try server.connect()
        for i in 1...count {
            XCTAssertEqual(try server.publish("/race", "m-\(i)", on: publisher).status, 202)
            usleep(UInt32.random(in: 0...5_000))
        }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        for result in results {
            let frames = result.value!
            XCTAssertEqual(frames.map(\.lastSequence), Array(1...count), "every sequence once, in order")
            XCTAssertEqual(frames.map(\.message), (1...count).map { "m-\($0)" })
        }
    }

    func testDisconnectedWaiterIsForgottenAtOnce() throws {
        var clients: [HTTPClientConnection] = []
        for i in 0..<20 {
            let client = try server.connect()
            try client.send(method: "GET", target: "/gone/\(i % 4)")
            clients.append(client)
        }
        XCTAssertTrue(server.eventually { $0 == .init(channels: 4, waiting: 20, connections: 20) })
        clients.removeAll()  // closes every socket
        XCTAssertTrue(server.eventually { $0 == .init(channels: 0, waiting: 0, connections: 0) },
                      "no channel, no waiter, no connection left: \(server.census())")
    }

    func testMultiplexedPollAnswersOnceWithFirstChannelThatHasData() throws {
        try server.publish("/mb", "b-1")
        let client = try server.connect()
        let response = try client.request(method: "GET", target: "/channels@firehose?subscribe=/ma!0,/mb!0")
        XCTAssertEqual(response.text, #"{"channel":"/mb","message":"b-1","last_sequence":1}"#)
        // Nothing else arrives on the keep-alive connection, even past the long-poll timeout.
        XCTAssertEqual(client.nextEvent(within: 1.3), .silent)
        XCTAssertTrue(server.eventually { $0.waiting == 0 && $0.channels == 1 })
        let post = try client.request(method: "POST", target: "/channels@firehose", body: Array(#"{"/ma":0,"/mb":"0"}"#.utf8))
        XCTAssertEqual(post.text, #"{"channel":"/mb","message":"b-1","last_sequence":1}"#)
    }
}
