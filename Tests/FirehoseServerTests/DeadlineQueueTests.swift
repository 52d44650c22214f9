import Foundation
import XCTest
@testable import FirehoseServer

/// `DeadlineQueue` (IO/DeadlineQueue.swift) on a real libevent loop running on its own thread:
/// the one timer, expiry order, cancelling, rescheduling and moving between queues. Every wait is
/// for a recorded expiry, bounded; "did not expire" is asserted only once a node scheduled no
/// earlier has expired.
final class DeadlineQueueTests: XCTestCase {
    private var loop: LoopThread!

    override func setUpWithError() throws { loop = try LoopThread() }
    override func tearDown() { loop.stop() }

    /// A queue made (and kept alive with the loop) on the loop thread.
    private func queue(_ duration: Double) -> DeadlineQueue {
        loop.onLoop { [loop] in
            let queue = DeadlineQueue(loop: loop!.loop, duration: duration)
            loop!.keep(queue)
            return queue
        }
    }

    private func nodes(_ names: [String], log: ExpiryLog) -> [RecordingNode] {
        names.map { RecordingNode(name: $0, log: log) }
    }

    /// Waits (bounded) until `log` holds `count` expiries, then returns them.
    private func waitForExpiries(_ log: ExpiryLog, count: Int, within seconds: Double = 5) -> [ExpiryLog.Entry] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if loop.onLoop({ log.entries.count >= count }) { break }
            usleep(5_000)
        }
        return loop.onLoop { log.entries }
    }

    func testNodesExpireInOrderAfterTheDuration() {
        let cases: [(name: String, duration: Double, nodes: Int)] = [
            ("one node", 0.1, 1),
            ("several share the one timer", 0.2, 5),
        ]
        for test in cases {
            let queue = queue(test.duration)
            let log = ExpiryLog()
            let names = (0..<test.nodes).map { "n\($0)" }
            let all = nodes(names, log: log)
            let scheduledAt = loop.onLoop { () -> Double in
                for node in all { queue.schedule(node) }
                XCTAssertEqual(queue.count, test.nodes, test.name)
                return EventLoop.now()
            }
            let expired = waitForExpiries(log, count: test.nodes)
            XCTAssertEqual(expired.map(\.name), names, test.name)
            for entry in expired {
                // The coarse clock reads a few ms apart from libevent's: allow 10 ms early.
                XCTAssertGreaterThanOrEqual(entry.at - scheduledAt, test.duration - 0.01, "\(test.name): \(entry.name) not early")
                XCTAssertLessThan(entry.at - scheduledAt, test.duration + 2, "\(test.name): \(entry.name) not stuck")
            }
            XCTAssertEqual(loop.onLoop { queue.count }, 0, test.name)
        }
    }

    func testCancelledNodesNeverExpire() {
        // Nodes a, b, c, d scheduled in order; some are cancelled; d, the last, is never cancelled, so
        // once d has expired every earlier deadline has passed.
        let cases: [(name: String, cancel: [Int], expired: [String])] = [
            ("the head", [0], ["b", "c", "d"]),
            ("the middle", [1], ["a", "c", "d"]),
            ("all but the last", [0, 1, 2], ["d"]),
            ("twice", [1, 1], ["a", "c", "d"]),
            ("none", [], ["a", "b", "c", "d"]),
        ]
        for test in cases {
            let queue = queue(0.1)
            let log = ExpiryLog()
            let all = nodes(["a", "b", "c", "d"], log: log)
            loop.onLoop {
                for node in all { queue.schedule(node) }
                for index in test.cancel { all[index].cancelDeadline() }
                XCTAssertEqual(queue.count, 4 - Set(test.cancel).count, test.name)
            }
            let expired = waitForExpiries(log, count: test.expired.count)
            XCTAssertEqual(expired.map(\.name), test.expired, test.name)
            XCTAssertEqual(loop.onLoop { queue.count }, 0, test.name)
        }
    }

    func testCancellingAnUnscheduledNodeDoesNothing() {
        let queue = queue(0.1)
        let log = ExpiryLog()
        let all = nodes(["never", "a"], log: log)
        loop.onLoop {
            all[0].cancelDeadline()
            queue.schedule(all[1])
            all[0].cancelDeadline()
            XCTAssertEqual(queue.count, 1)
        }
        XCTAssertEqual(waitForExpiries(log, count: 1).map(\.name), ["a"])
    }

    func testReschedulingMovesANodeToTheBack() {
        let queue = queue(0.15)
        let log = ExpiryLog()
        let all = nodes(["a", "b", "c"], log: log)
        loop.onLoop {
            for node in all { queue.schedule(node) }
            queue.schedule(all[0])
            XCTAssertEqual(queue.count, 3, "rescheduled, not added twice")
        }
        XCTAssertEqual(waitForExpiries(log, count: 3).map(\.name), ["b", "c", "a"])
        XCTAssertEqual(loop.onLoop { queue.count }, 0)
    }

    func testSchedulingOnAnotherQueueLeavesTheFirst() {
        let slow = queue(30)
        let fast = queue(0.1)
        let log = ExpiryLog()
        let all = nodes(["moved"], log: log)
        loop.onLoop {
            slow.schedule(all[0])
            fast.schedule(all[0])
            XCTAssertEqual(slow.count, 0)
            XCTAssertEqual(fast.count, 1)
        }
        XCTAssertEqual(waitForExpiries(log, count: 1).map(\.name), ["moved"])
        XCTAssertEqual(loop.onLoop { slow.count + fast.count }, 0)
    }

    func testANodeMayRescheduleItselfWhenItExpires() {
        let queue = queue(0.05)
        let log = ExpiryLog()
        let node = RecordingNode(name: "again", log: log)
        node.reschedules = 2
        node.queue = queue
        loop.onLoop { queue.schedule(node) }
        let expired = waitForExpiries(log, count: 3)
        XCTAssertEqual(expired.map(\.name), ["again", "again", "again"])
        for (earlier, later) in zip(expired, expired.dropFirst()) {
            XCTAssertGreaterThanOrEqual(later.at - earlier.at, 0.05 - 0.01, "each round waits the whole duration")
        }
        XCTAssertEqual(loop.onLoop { queue.count }, 0)
    }

    func testTheTimerIsRearmedForALaterNode() {
        // b is scheduled 0.1 s after a (from a loop timer): once a has gone, the one timer must be
        // set again for b, a whole duration after b's own scheduling.
        let queue = queue(0.2)
        let log = ExpiryLog()
        let all = nodes(["a", "b"], log: log)
        let scheduled = Box<Double>()
        loop.onLoop { [loop] in
            queue.schedule(all[0])
            let timer = LoopTimer(loop: loop!.loop) {
                scheduled.value = EventLoop.now()
                queue.schedule(all[1])
            }
            timer.schedule(after: 0.1)
            loop!.keep(timer)
        }
        let expired = waitForExpiries(log, count: 2)
        XCTAssertEqual(expired.map(\.name), ["a", "b"])
        guard expired.count == 2, let bScheduled = loop.onLoop({ scheduled.value }) else { return }
        // Without the re-arm b never expires at all; with it, b waits its whole duration.
        XCTAssertGreaterThanOrEqual(expired[1].at - bScheduled, 0.2 - 0.01)
    }
}

/// Expiries in the order they happened, with the loop clock's time. Loop thread only.
final class ExpiryLog {
    struct Entry { let name: String; let at: Double }
    var entries: [Entry] = []
}

final class RecordingNode: DeadlineNode {
    let name: String
    let log: ExpiryLog
    /// How many more times the node schedules itself again on `queue` when it expires.
    var reschedules = 0
    var queue: DeadlineQueue?

    init(name: String, log: ExpiryLog) {
        self.name = name
        self.log = log
    }

    override func deadlineExpired() {
        log.entries.append(.init(name: name, at: EventLoop.now()))
        if reschedules > 0, let queue {
            reschedules -= 1
            queue.schedule(self)
        }
    }
}
