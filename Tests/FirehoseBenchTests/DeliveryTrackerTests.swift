import XCTest
@testable import FirehoseBench

final class DeliveryTrackerTests: XCTestCase {
    /// Arrival orders and what the tracker must make of them (published: counters 1...5).
    func testTable() {
        let cases: [(arrivals: [Int], unique: Int, duplicates: Int, reordered: Int, lost: Int)] = [
            ([1, 2, 3, 4, 5], 5, 0, 0, 0),
            ([1, 2, 4, 5], 4, 0, 0, 1),
            ([1, 3, 2, 4, 5], 5, 0, 1, 0),
            ([1, 1, 2, 3, 3, 4, 5], 5, 2, 0, 0),
            ([5, 4, 3, 2, 1], 5, 0, 4, 0),
            ([], 0, 0, 0, 5),
            ([2, 200], 2, 0, 0, 4),
        ]
        for (arrivals, unique, duplicates, reordered, lost) in cases {
            var tracker = DeliveryTracker()
            for counter in arrivals { tracker.record(counter) }
            XCTAssertEqual(tracker.unique, unique, "\(arrivals)")
            XCTAssertEqual(tracker.duplicates, duplicates, "\(arrivals)")
            XCTAssertEqual(tracker.reordered, reordered, "\(arrivals)")
            XCTAssertEqual(tracker.lost(expected: 5), lost, "\(arrivals)")
        }
    }

    func testOutcomes() {
        var tracker = DeliveryTracker()
        XCTAssertEqual(tracker.record(2), .inOrder)
        XCTAssertEqual(tracker.record(1), .reordered)
        XCTAssertEqual(tracker.record(2), .duplicate)
        XCTAssertEqual(tracker.record(64), .inOrder)
        XCTAssertTrue(tracker.contains(64))
        XCTAssertFalse(tracker.contains(63))
    }
}
