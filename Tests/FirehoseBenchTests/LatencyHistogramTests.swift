import XCTest
@testable import FirehoseBench

final class LatencyHistogramTests: XCTestCase {
    func testPercentilesOfAUniformRunAreWithinTheBucketError() {
        var histogram = LatencyHistogram()
        for micros in 1...100_000 { histogram.record(UInt64(micros)) }
        XCTAssertEqual(histogram.count, 100_000)
        XCTAssertEqual(histogram.max, 100_000)
        for (fraction, exact) in [(0.5, 50_000.0), (0.9, 90_000.0), (0.99, 99_000.0)] {
            let value = Double(histogram.percentile(fraction))
            XCTAssertEqual(value, exact, accuracy: exact * 0.016, "p\(Int(fraction * 100))")
        }
    }

    func testSmallValuesAreExactAndEmptyIsZero() {
        var histogram = LatencyHistogram()
        XCTAssertEqual(histogram.percentile(0.99), 0)
        for value: UInt64 in [3, 3, 3, 90] { histogram.record(value) }
        XCTAssertEqual(histogram.percentile(0.5), 3)
        XCTAssertEqual(histogram.percentile(1.0), 90)
    }

    func testBucketsAreContiguousAndOrdered() {
        var previous = -1
        for value in stride(from: UInt64(0), to: 1 << 30, by: 977) {
            let index = LatencyHistogram.index(of: value)
            XCTAssertGreaterThanOrEqual(index, previous)
            previous = index
            let middle = LatencyHistogram.middle(of: index)
            XCTAssertEqual(Double(middle), Double(value), accuracy: max(1, Double(value) * 0.016))
        }
    }

    func testMergeAddsCounts() {
        var a = LatencyHistogram(), b = LatencyHistogram()
        a.record(10)
        b.record(1000)
        a.merge(b)
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(a.max, 1000)
    }
}
