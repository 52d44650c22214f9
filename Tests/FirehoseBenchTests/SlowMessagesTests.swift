import XCTest
@testable import FirehoseBench

/// Where in a run the slow messages were (`slow_messages_by_tenth`): pure counting over each
/// message number's slowest delivery.
final class SlowMessagesTests: XCTestCase {
    func testCountsTheMessagesOverTheThresholdPerTenthOfTheMessageNumbers() {
        // Index 0 is the priming message and is not counted; 20 measured messages, two per tenth.
        var slowest = [UInt64](repeating: 100, count: 21)
        slowest[0] = 9_999
        slowest[1] = 500  // first tenth
        slowest[2] = 401  // first tenth
        slowest[11] = 400  // at the threshold: not over it
        slowest[20] = 5_000  // last tenth
        XCTAssertEqual(DeliveryScenario.slowByTenth(slowest, over: 400), "2 0 0 0 0 0 0 0 0 1")
    }

    func testNothingMeasuredGivesAnEmptyString() {
        XCTAssertEqual(DeliveryScenario.slowByTenth([], over: 400), "")
        XCTAssertEqual(DeliveryScenario.slowByTenth([7], over: 400), "")
        XCTAssertEqual(DeliveryScenario.slowByTenth([0, 1_000], over: 0), "")
    }

    func testFewerMessagesThanTenthsStillLandInRange() {
        XCTAssertEqual(DeliveryScenario.slowByTenth([0, 900, 900, 900], over: 100), "1 0 0 1 0 0 1 0 0 0")
    }
}
