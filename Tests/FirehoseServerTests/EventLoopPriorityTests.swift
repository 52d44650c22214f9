import Foundation
import XCTest
@testable import FirehoseServer

/// `EventLoop`'s two priorities: an event of the higher one (a publisher's reads) that becomes
/// ready during a round of ordinary callbacks runs after at most `EventLoop.lowPriorityBatch` of
/// them, not after the whole round (a 10,000-connection round of re-polls).
final class EventLoopPriorityTests: XCTestCase {
    /// Records the order in which callbacks ran. Loop thread only.
    private final class Log: @unchecked Sendable {
        var fired = 0
        var urgentAt: Int?
    }

    func testPriorityEventRunsBetweenSlicesOfARound() throws {
        let thread = try LoopThread()
        defer { thread.stop() }
        let log = Log()
        let ordinary = 1_000
        thread.onLoop {
            let urgent = LoopTimer(loop: thread.loop) { log.urgentAt = log.fired }
            urgent.prioritize()
            thread.keep(urgent)
            // A thousand ordinary callbacks due in the same round; the first one to run makes the
            // urgent one due, as a publish arriving during a round of re-polls.
            for _ in 0..<ordinary {
                let timer = LoopTimer(loop: thread.loop) {
                    if log.fired == 0 { urgent.schedule(after: 0) }
                    log.fired += 1
                }
                thread.keep(timer)
                timer.schedule(after: 0)
            }
        }
        let deadline = Date().addingTimeInterval(10)
        while thread.onLoop({ log.fired }) < ordinary, Date() < deadline { usleep(10_000) }
        let (fired, urgentAt) = thread.onLoop { (log.fired, log.urgentAt) }
        XCTAssertEqual(fired, ordinary, "every ordinary timer fired")
        let at = try XCTUnwrap(urgentAt, "the urgent timer fired")
        XCTAssertGreaterThanOrEqual(at, 1)
        // Without the batch limit it waited for all 1,000.
        XCTAssertLessThanOrEqual(at, EventLoop.lowPriorityBatch, "the urgent timer waited for \(at) ordinary callbacks")
    }
}
