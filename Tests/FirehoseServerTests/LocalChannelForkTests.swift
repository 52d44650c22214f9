import XCTest
import FirehoseCore
@testable import FirehoseServer

/// `LocalChannel.forkPoint`/`rewind` (Backend/LocalChannel.swift): where a store's history leaves
/// a node's window (a failover that lost the newest messages, a flush, a restart), and what the
/// subscribers of that window get afterwards (spec HA-3, EXT-13). Driven directly, as in
/// `LocalChannelTests`.
final class LocalChannelForkTests: XCTestCase {
    private var owner: RecordingOwner!

    override func setUp() { owner = RecordingOwner() }

    /// A channel whose window holds `bodies` as sequences 1, 2, ...
    private func channel(_ bodies: [String]) -> LocalChannel {
        let channel = LocalChannel(name: "/c", owner: owner)
        for body in bodies { _ = channel.append(body: Array(body.utf8), bufferSize: 10) }
        return channel
    }

    /// A store read at `sequence` holding `oldestFirst` as its newest messages.
    private func snapshot(_ sequence: Int, _ oldestFirst: [String]) -> ChannelSnapshot {
        ChannelSnapshot(sequence: sequence, newestFirst: oldestFirst.reversed().map { Array($0.utf8) })
    }

    /// What the Redis backend does with a read (RedisBackend.readCompleted).
    private func read(_ channel: LocalChannel, _ snapshot: ChannelSnapshot) {
        if let fork = channel.forkPoint(with: snapshot) { channel.rewind(to: fork) }
        channel.adopt(snapshot, bufferSize: 10)
        channel.deliverBuffered()
    }

    private func publish(_ channel: LocalChannel, _ body: String) {
        channel.deliver(channel.append(body: Array(body.utf8), bufferSize: 10))
    }

    func testForkPointTable() {
        let window = ["m1", "m2", "m3", "m4", "m5"]
        let cases: [(name: String, snapshot: ChannelSnapshot, fork: Int?)] = [
            ("the same history", snapshot(5, window), nil),
            ("the store went on", snapshot(7, ["m3", "m4", "m5", "m6", "m7"]), nil),
            ("a failover lost the newest message", snapshot(4, ["m1", "m2", "m3", "m4"]), 4),
            ("lost two, read bounded to one message", snapshot(3, ["m3"]), 3),
            ("the store differs after 3", snapshot(5, ["m1", "m2", "m3", "x4", "x5"]), 3),
            ("the store differs after 3 and went on", snapshot(6, ["m2", "m3", "x4", "x5", "x6"]), 3),
            ("a flush, republished to 3", snapshot(3, ["x1", "x2", "x3"]), 0),
            ("a flush, republished to the same sequence", snapshot(5, ["x1", "x2", "x3", "x4", "x5"]), 0),
            ("behind with nothing to compare", snapshot(3, []), 0),
            ("emptied", snapshot(0, []), 0),
            ("ahead with nothing to compare", snapshot(9, ["m8", "m9"]), nil),
            ("ahead, differing at the one message compared", snapshot(7, ["x5", "x6", "x7"]), 0),
        ]
        for test in cases {
            XCTAssertEqual(channel(window).forkPoint(with: test.snapshot), test.fork, test.name)
        }
        XCTAssertNil(channel([]).forkPoint(with: snapshot(3, ["m1", "m2", "m3"])), "an empty window continues anything")
    }

    func testAFailoverThatLostTheNewestMessageSendsNothingTwice() {
        let channel = channel(["m1", "m2", "m3", "m4", "m5"])
        let live = RecordingSubscriber()
        XCTAssertNotNil(channel.subscribe(lastSequence: 5, subscriber: live))
        read(channel, snapshot(4, ["m1", "m2", "m3", "m4"]))  // the promoted replica never got m5
        XCTAssertEqual(live.bodies, [], "nothing again: not the oldest message as after a reset")
        XCTAssertEqual(channel.lostTail?.fork, 4)

        // A client coming back from the lost message waits with the live one for what comes next.
        let returning = RecordingSubscriber()
        XCTAssertNotNil(channel.subscribe(lastSequence: 5, subscriber: returning, from: snapshot(4, ["m1", "m2", "m3", "m4"])))
        XCTAssertEqual(returning.bodies, [])
        publish(channel, "n5")  // the store gives the lost message's number to the next one
        XCTAssertEqual(live.bodies, ["n5"])
        XCTAssertEqual(returning.bodies, ["n5"])
        XCTAssertNil(channel.lostTail, "forgotten once the channel passed the lost messages")
    }

    func testAClientAheadByLostMessagesGetsWhatReplacedThem() {
        let channel = channel(["m1", "m2", "m3", "m4", "m5", "m6"])
        let live = RecordingSubscriber()
        XCTAssertNotNil(channel.subscribe(lastSequence: 6, subscriber: live))
        // m5 and m6 were lost; n5 was published on the new master before this node read it.
        read(channel, snapshot(5, ["m3", "m4", "n5"]))
        XCTAssertEqual(live.sequences, [5])
        XCTAssertEqual(live.bodies, ["n5"])
        let returning = RecordingSubscriber()
        XCTAssertNotNil(channel.subscribe(lastSequence: 6, subscriber: returning, from: snapshot(5, ["m4", "n5"])))
        XCTAssertEqual(returning.bodies, ["n5"], "resumed from the fork (4), not served as after a reset")
        publish(channel, "n6")
        XCTAssertEqual(live.bodies, ["n5", "n6"])
        XCTAssertEqual(returning.bodies, ["n5", "n6"])
    }

    func testNothingInCommonIsAReset() {
        let channel = channel(["m1", "m2", "m3", "m4", "m5"])
        let live = RecordingSubscriber()
        XCTAssertNotNil(channel.subscribe(lastSequence: 5, subscriber: live))
        read(channel, snapshot(3, ["x1", "x2", "x3"]))
        XCTAssertEqual(live.bodies, ["x1", "x2", "x3"], "the new generation, all of it")
        XCTAssertNil(channel.lostTail, "a client ahead is served by the reset rule")
        let returning = RecordingSubscriber()
        XCTAssertNotNil(channel.subscribe(lastSequence: 5, subscriber: returning, from: snapshot(3, ["x1", "x2", "x3"])))
        XCTAssertEqual(returning.bodies, ["x1", "x2", "x3"])
    }
}
