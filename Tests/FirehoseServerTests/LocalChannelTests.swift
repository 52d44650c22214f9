import XCTest
import FirehoseCore
@testable import FirehoseServer

/// `LocalChannel` (Backend/LocalChannel.swift): the one catch-up procedure, live delivery, gap fill
/// and the window bookkeeping the backends build on. Driven directly: these are plain objects on
/// the calling thread, and the subscriber and owner below only record what the channel does.
final class LocalChannelTests: XCTestCase {
    private var owner: RecordingOwner!

    override func setUp() { owner = RecordingOwner() }

    /// A channel whose window holds `1...sequence` trimmed to the newest `bufferSize`.
    private func channel(sequence: Int, bufferSize: Int) -> LocalChannel {
        let channel = LocalChannel(name: "/c", owner: owner)
        for _ in 0..<sequence { _ = channel.append(body: Self.body(channel.sequence + 1), bufferSize: bufferSize) }
        return channel
    }

    private static func body(_ sequence: Int) -> [UInt8] { Array("m\(sequence)".utf8) }

    /// What a store read returns for `sequence` holding its newest `count` messages.
    private static func snapshot(sequence: Int, count: Int) -> ChannelSnapshot {
        ChannelSnapshot(sequence: sequence, newestFirst: (0..<count).map { body(sequence - $0) })
    }

    /// Publishes the next message on the channel as the memory backend does: append, then deliver.
    private func publishNext(_ channel: LocalChannel, bufferSize: Int = 3) {
        channel.deliver(channel.append(body: Self.body(channel.sequence + 1), bufferSize: bufferSize))
    }

    // MARK: subscribe without a snapshot (the memory backend)

    func testReplayRuleFromTheWindow() {
        // Channel at 5 holding 3, 4, 5.
        let cases: [(name: String, last: Int, replayed: [Int])] = [
            ("0 means the latest", 0, [5]),
            ("negative counts as 0", -7, [5]),
            ("underwater (4 behind, 3 held) gets the latest", 1, [5]),
            ("behind by as many as are held", 2, [3, 4, 5]),
            ("behind by 2", 3, [4, 5]),
            ("behind by 1", 4, [5]),
            ("level waits", 5, []),
            // The channel was reset under the client (spec EXT-13): the new generation, all of it.
            ("ahead gets every buffered message", 9, [3, 4, 5]),
        ]
        for test in cases {
            let channel = channel(sequence: 5, bufferSize: 3)
            let subscriber = RecordingSubscriber()
            XCTAssertNotNil(channel.subscribe(lastSequence: test.last, subscriber: subscriber), test.name)
            XCTAssertEqual(subscriber.sequences, test.replayed, test.name)
            XCTAssertEqual(subscriber.bodies, test.replayed.map { "m\($0)" }, test.name)
            // Registered after 5 in every case: a gap fill gives nothing again, the next publish arrives.
            channel.deliverBuffered()
            XCTAssertEqual(subscriber.sequences, test.replayed, "\(test.name): nothing delivered twice")
            publishNext(channel)
            XCTAssertEqual(subscriber.sequences, test.replayed + [6], "\(test.name): the next publish arrives")
        }
    }

    func testReplayedMessagesAreTheBufferedObjects() {
        let channel = channel(sequence: 5, bufferSize: 3)
        let subscriber = RecordingSubscriber()
        _ = channel.subscribe(lastSequence: 2, subscriber: subscriber)
        XCTAssertEqual(subscriber.received.count, 3)
        for message in subscriber.received {
            XCTAssertTrue(message === channel.buffered(message.sequence), "message \(message.sequence) shared, not copied")
        }
    }

    func testEmptyAndUnbufferedChannelsReplayNothingButDeliverLive() {
        let cases: [(name: String, sequence: Int, bufferSize: Int, last: Int)] = [
            ("never published, last 0", 0, 3, 0),
            ("never published, client ahead", 0, 3, 4),
            ("buffer size 0, last 0", 5, 0, 0),
            ("buffer size 0, behind", 5, 0, 3),
        ]
        for test in cases {
            let channel = channel(sequence: test.sequence, bufferSize: test.bufferSize)
            let subscriber = RecordingSubscriber()
            XCTAssertNotNil(channel.subscribe(lastSequence: test.last, subscriber: subscriber), test.name)
            XCTAssertEqual(subscriber.sequences, [], test.name)
            publishNext(channel, bufferSize: test.bufferSize)
            XCTAssertEqual(subscriber.sequences, [test.sequence + 1], test.name)
        }
    }

    func testDecliningDuringReplayRegistersNothing() {
        let cases: [(name: String, limit: Int, last: Int, received: [Int], registered: Bool)] = [
            ("a long-poll takes the first of three and ends", 1, 2, [3], false),
            ("declines on the second of three", 2, 2, [3, 4], false),
            ("declines on the last replayed message", 3, 2, [3, 4, 5], false),
            ("declines only after the replay: still registered", 4, 2, [3, 4, 5], true),
            ("level: nothing replayed, registered", 1, 5, [], true),
        ]
        for test in cases {
            let channel = channel(sequence: 5, bufferSize: 3)
            let subscriber = RecordingSubscriber(limit: test.limit)
            let handle = channel.subscribe(lastSequence: test.last, subscriber: subscriber)
            XCTAssertEqual(handle != nil, test.registered, test.name)
            XCTAssertEqual(subscriber.sequences, test.received, test.name)
            XCTAssertEqual(channel.hasSubscribers, test.registered, test.name)
            // The backend, not the channel, disposes of a channel whose subscribe returned nil.
            XCTAssertEqual(owner.released, [], test.name)
            handle?.cancel()
            owner.released = []
        }
    }

    // MARK: subscribe from a store snapshot (the Redis backend)

    func testReplayRuleFromASnapshotWhenTheWindowIsAhead() {
        // The store read saw 5 (holding 3, 4, 5); pub/sub has since brought 6 and 7 into the window,
        // which holds 5, 6, 7. The client replays from the snapshot, is registered after
        // max(5, min(last, 7)), and the gap fill gives it the rest from the window.
        let cases: [(name: String, last: Int, replayed: [Int], gapFill: [Int])] = [
            ("0 means the snapshot's latest", 0, [5], [6, 7]),
            ("negative counts as 0", -1, [5], [6, 7]),
            ("underwater in the snapshot", 1, [5], [6, 7]),
            ("behind by all the snapshot holds", 2, [3, 4, 5], [6, 7]),
            ("behind by 1", 4, [5], [6, 7]),
            ("level with the snapshot", 5, [], [6, 7]),
            ("between snapshot and window", 6, [], [7]),
            ("level with the window", 7, [], []),
            // Ahead of the store (the truth): the snapshot's generation, then the window's rest.
            ("ahead of both", 12, [3, 4, 5], [6, 7]),
        ]
        for test in cases {
            let channel = channel(sequence: 7, bufferSize: 3)
            let subscriber = RecordingSubscriber()
            let handle = channel.subscribe(lastSequence: test.last, subscriber: subscriber, from: Self.snapshot(sequence: 5, count: 3))
            XCTAssertNotNil(handle, test.name)
            XCTAssertEqual(subscriber.sequences, test.replayed, test.name)
            XCTAssertEqual(subscriber.bodies, test.replayed.map { "m\($0)" }, test.name)
            channel.deliverBuffered()
            XCTAssertEqual(subscriber.sequences, test.replayed + test.gapFill, test.name)
            channel.deliverBuffered()
            XCTAssertEqual(subscriber.sequences, test.replayed + test.gapFill, "\(test.name): a second gap fill adds nothing")
            publishNext(channel)
            XCTAssertEqual(subscriber.sequences, test.replayed + test.gapFill + [8], test.name)
        }
    }

    func testSnapshotReplayUsesWindowMessagesWhereItHasThem() {
        // Window 5, 6, 7; snapshot 5 holding 2...5: 5 comes from the window, 2...4 are made from the snapshot.
        let channel = channel(sequence: 7, bufferSize: 3)
        let subscriber = RecordingSubscriber()
        _ = channel.subscribe(lastSequence: 1, subscriber: subscriber, from: Self.snapshot(sequence: 5, count: 4))
        XCTAssertEqual(subscriber.sequences, [2, 3, 4, 5])
        XCTAssertEqual(subscriber.bodies, ["m2", "m3", "m4", "m5"])
        XCTAssertTrue(subscriber.received[3] === channel.buffered(5))
        XCTAssertEqual(subscriber.received.map(\.channel), ["/c", "/c", "/c", "/c"])
    }

    func testSnapshotAheadOfAnEmptyWindow() {
        let cases: [(name: String, last: Int, replayed: [Int])] = [
            ("latest", 0, [5]),
            ("behind by 2", 3, [4, 5]),
            ("level", 5, []),
        ]
        for test in cases {
            let channel = channel(sequence: 0, bufferSize: 3)
            let subscriber = RecordingSubscriber()
            _ = channel.subscribe(lastSequence: test.last, subscriber: subscriber, from: Self.snapshot(sequence: 5, count: 3))
            XCTAssertEqual(subscriber.sequences, test.replayed, test.name)
            // Registered after 5: adopting the snapshot and filling the gap gives nothing twice.
            channel.adopt(Self.snapshot(sequence: 5, count: 3), bufferSize: 3)
            channel.deliverBuffered()
            XCTAssertEqual(subscriber.sequences, test.replayed, test.name)
            publishNext(channel)
            XCTAssertEqual(subscriber.sequences, test.replayed + [6], test.name)
        }
    }

    // MARK: deliver

    func testDeliverReachesEveryWaitingSubscriberInOrder() {
        let channel = channel(sequence: 0, bufferSize: 3)
        let subscribers = (0..<4).map { _ in RecordingSubscriber() }
        var order: [Int] = []
        for (index, subscriber) in subscribers.enumerated() {
            subscriber.onReceive = { _ in order.append(index) }
            _ = channel.subscribe(lastSequence: 0, subscriber: subscriber)
        }
        publishNext(channel)
        publishNext(channel)
        XCTAssertEqual(order, [0, 1, 2, 3, 0, 1, 2, 3], "oldest subscription first")
        for subscriber in subscribers { XCTAssertEqual(subscriber.sequences, [1, 2]) }
        XCTAssertTrue(subscribers[0].received[0] === subscribers[3].received[0], "one Message shared by all")
    }

    func testSubscriberThatDeclinesIsCancelledAndTheOwnerTold() {
        let channel = channel(sequence: 0, bufferSize: 3)
        let longPoll = RecordingSubscriber(limit: 1)
        let stream = RecordingSubscriber()
        let handle = channel.subscribe(lastSequence: 0, subscriber: longPoll)
        _ = channel.subscribe(lastSequence: 0, subscriber: stream)
        publishNext(channel)
        XCTAssertEqual(owner.released, ["/c"])
        publishNext(channel)
        XCTAssertEqual(longPoll.sequences, [1])
        XCTAssertEqual(stream.sequences, [1, 2])
        handle?.cancel()
        XCTAssertEqual(owner.released, ["/c"], "cancelling an ended subscription again does nothing")
    }

    func testSubscriptionMadeDuringADeliveryStartsAfterIt() {
        // A long-poll answered by message 1 re-polls at once, inside the delivery of 1.
        let cases: [(name: String, repollAt: Int, getsFromDelivery: [Int])] = [
            ("re-polls level with what it was given", 1, [2]),
            ("re-polls from 0: the replay gives 1 once", 0, [1, 2]),
        ]
        for test in cases {
            let channel = channel(sequence: 0, bufferSize: 3)
            let first = RecordingSubscriber(limit: 1)
            // A subscriber behind the first keeps the delivery going, so it reaches the new one.
            let bystander = RecordingSubscriber()
            let again = RecordingSubscriber()
            first.onReceive = { _ in _ = channel.subscribe(lastSequence: test.repollAt, subscriber: again) }
            _ = channel.subscribe(lastSequence: 0, subscriber: first)
            _ = channel.subscribe(lastSequence: 0, subscriber: bystander)
            publishNext(channel)
            XCTAssertEqual(first.sequences, [1], test.name)
            XCTAssertEqual(bystander.sequences, [1], test.name)
            publishNext(channel)
            XCTAssertEqual(again.sequences, test.getsFromDelivery, test.name)
            XCTAssertEqual(bystander.sequences, [1, 2], test.name)
        }
    }

    func testCancellingDuringADelivery() {
        // Three subscribers a, b, c; during a's receive one of them is cancelled.
        let cases: [(name: String, cancel: Int, received: [[Int]])] = [
            ("a cancels itself but accepts", 0, [[1], [1, 2], [1, 2]]),
            ("a cancels b, the next in line", 1, [[1, 2], [], [1, 2]]),
            ("a cancels c, the last", 2, [[1, 2], [1, 2], []]),
        ]
        for test in cases {
            let channel = channel(sequence: 0, bufferSize: 3)
            let subscribers = (0..<3).map { _ in RecordingSubscriber() }
            let handles = subscribers.map { channel.subscribe(lastSequence: 0, subscriber: $0)! }
            subscribers[0].onReceive = { message in if message.sequence == 1 { handles[test.cancel].cancel() } }
            publishNext(channel)
            publishNext(channel)
            XCTAssertEqual(subscribers.map(\.sequences), test.received, test.name)
            XCTAssertEqual(owner.released, ["/c"], test.name)
            owner.released = []
        }
    }

    func testCancellingEverySubscriberEmptiesTheList() {
        // Cancel orders over three subscribers: head, middle and tail unlinks all leave a sound list.
        let orders: [[Int]] = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [1, 2, 0]]
        for order in orders {
            let channel = channel(sequence: 0, bufferSize: 3)
            let subscribers = (0..<3).map { _ in RecordingSubscriber() }
            let handles = subscribers.map { channel.subscribe(lastSequence: 0, subscriber: $0)! }
            for (step, index) in order.enumerated() {
                handles[index].cancel()
                publishNext(channel)
                let sequence = channel.sequence
                for other in order[(step + 1)...] {
                    XCTAssertEqual(subscribers[other].sequences.last, sequence, "order \(order): \(other) still served")
                }
                XCTAssertFalse(subscribers[index].sequences.contains(sequence), "order \(order): \(index) cancelled")
            }
            XCTAssertFalse(channel.hasSubscribers, "order \(order)")
            XCTAssertEqual(owner.released.count, 3, "order \(order)")
            owner.released = []
            // The emptied list takes new subscribers again.
            let late = RecordingSubscriber()
            _ = channel.subscribe(lastSequence: channel.sequence, subscriber: late)
            publishNext(channel)
            XCTAssertEqual(late.sequences, [channel.sequence], "order \(order)")
        }
    }

    // MARK: deliverBuffered

    func testGapFillGivesEachSubscriberWhatTheWindowHolds() {
        // Window 3...7 (buffer 5); subscribers registered after various sequences.
        let cases: [(name: String, after: Int, limit: Int?, received: [Int], stillSubscribed: Bool)] = [
            ("older than the window: from its first message", 1, nil, [3, 4, 5, 6, 7], true),
            ("just before the window", 2, nil, [3, 4, 5, 6, 7], true),
            ("inside the window", 5, nil, [6, 7], true),
            ("level", 7, nil, [], true),
            ("declines after one", 4, 1, [5], false),
            ("declines on the last", 5, 2, [6, 7], false),
        ]
        let channel = channel(sequence: 7, bufferSize: 5)
        let subscribers = cases.map { RecordingSubscriber(limit: $0.limit) }
        let handles = zip(cases, subscribers).map { channel.register($1, after: $0.after) }
        channel.deliverBuffered()
        for (test, subscriber) in zip(cases, subscribers) {
            XCTAssertEqual(subscriber.sequences, test.received, test.name)
        }
        XCTAssertEqual(owner.released, ["/c", "/c"], "one release per declined subscriber")
        publishNext(channel, bufferSize: 5)
        for (test, subscriber) in zip(cases, subscribers) {
            XCTAssertEqual(subscriber.sequences.last == 8, test.stillSubscribed, test.name)
        }
        for handle in handles { handle.cancel() }
        XCTAssertFalse(channel.hasSubscribers)
    }

    func testGapFillOnAnEmptyWindowGivesNothing() {
        let channel = channel(sequence: 4, bufferSize: 0)
        let subscriber = RecordingSubscriber()
        _ = channel.register(subscriber, after: 1)
        channel.deliverBuffered()
        XCTAssertEqual(subscriber.sequences, [])
    }

    // MARK: adopt, buffered, clearData

    func testAdoptReusesBufferedMessages() {
        let channel = channel(sequence: 3, bufferSize: 3)
        let before = (1...3).map { channel.buffered($0)! }
        channel.adopt(Self.snapshot(sequence: 5, count: 4), bufferSize: 4)
        XCTAssertEqual(channel.sequence, 5)
        XCTAssertEqual(channel.buffer.count, 4)
        XCTAssertNil(channel.buffered(1))
        XCTAssertTrue(channel.buffered(2) === before[1], "2 kept with its encodings")
        XCTAssertTrue(channel.buffered(3) === before[2], "3 kept with its encodings")
        XCTAssertEqual((2...5).map { String(decoding: channel.buffered($0)!.body, as: UTF8.self) }, ["m2", "m3", "m4", "m5"])
        XCTAssertEqual((2...5).map { channel.buffered($0)!.sequence }, [2, 3, 4, 5])
    }

    func testAdoptTable() {
        let cases: [(name: String, window: Int, snapshot: ChannelSnapshot, bufferSize: Int, sequence: Int, held: ClosedRange<Int>?)] = [
            ("catches up", 2, Self.snapshot(sequence: 6, count: 3), 3, 6, 4...6),
            ("trims to the buffer size", 2, Self.snapshot(sequence: 6, count: 5), 2, 6, 5...6),
            ("same as the window", 4, Self.snapshot(sequence: 4, count: 3), 3, 4, 2...4),
            ("an empty store", 4, ChannelSnapshot(sequence: 0, newestFirst: []), 3, 0, nil),
            ("a sequence whose list is gone", 4, ChannelSnapshot(sequence: 9, newestFirst: []), 3, 9, nil),
        ]
        for test in cases {
            let channel = channel(sequence: test.window, bufferSize: 3)
            channel.adopt(test.snapshot, bufferSize: test.bufferSize)
            XCTAssertEqual(channel.sequence, test.sequence, test.name)
            XCTAssertEqual(channel.buffer.count, test.held?.count ?? 0, test.name)
            for sequence in test.held.map(Array.init) ?? [] {
                XCTAssertEqual(channel.buffered(sequence).map { String(decoding: $0.body, as: UTF8.self) }, "m\(sequence)", test.name)
            }
        }
    }

    func testBufferedLooksUpOnlyTheWindow() {
        let channel = channel(sequence: 5, bufferSize: 3)
        let cases: [(wanted: Int, found: Bool)] = [(-1, false), (0, false), (1, false), (2, false), (3, true), (4, true), (5, true), (6, false)]
        for test in cases {
            XCTAssertEqual(channel.buffered(test.wanted)?.sequence, test.found ? test.wanted : nil, "buffered(\(test.wanted))")
        }
        let empty = self.channel(sequence: 0, bufferSize: 3)
        for wanted in [-1, 0, 1] { XCTAssertNil(empty.buffered(wanted), "empty channel, buffered(\(wanted))") }
    }

    func testClearDataRestartsAtOneForWaitingSubscribers() {
        let channel = channel(sequence: 5, bufferSize: 3)
        channel.expiresAt = 1234
        let level = RecordingSubscriber()
        let ahead = RecordingSubscriber()
        _ = channel.subscribe(lastSequence: 5, subscriber: level)
        _ = channel.subscribe(lastSequence: 9, subscriber: ahead)
        channel.clearData()
        XCTAssertEqual(channel.sequence, 0)
        XCTAssertEqual(channel.buffer.count, 0)
        XCTAssertNil(channel.expiresAt)
        XCTAssertNil(channel.buffered(5))
        XCTAssertTrue(channel.hasSubscribers, "waiting subscribers stay")
        publishNext(channel)
        XCTAssertEqual(level.sequences, [1], "the next message, whatever its number")
        // The ahead subscriber was given the buffered generation when it subscribed (EXT-13).
        XCTAssertEqual(ahead.sequences, [3, 4, 5, 1])
        XCTAssertEqual(owner.released, [])
    }
}
