import XCTest
import FirehoseCore

final class MessageBufferTests: XCTestCase {
    private func contents(_ buffer: MessageBuffer<Int>) -> [Int] { (0..<buffer.count).map { buffer[$0] } }

    func testKeepsTheNewestUpToTheLimit() {
        var buffer = MessageBuffer<Int>()
        for i in 1...250 { buffer.append(i, limit: 100) }
        XCTAssertEqual(buffer.count, 100)
        XCTAssertEqual(buffer[0], 151)
        XCTAssertEqual(buffer.newest, 250)
    }

    func testLimitAppliesPerAppend() {
        // The reference's X-Firehose-Buffer-Size: 2 then 5 (spec/http.md PUB-8).
        var buffer = MessageBuffer<Int>()
        for i in 1...4 { buffer.append(i, limit: 2) }
        XCTAssertEqual(contents(buffer), [3, 4])
        buffer.append(5, limit: 5)
        XCTAssertEqual(contents(buffer), [3, 4, 5], "grows one at a time again")
        buffer.append(6, limit: 0)
        XCTAssertEqual(contents(buffer), [], "size 0 deletes the list")
        buffer.append(7, limit: -3)
        XCTAssertTrue(buffer.isEmpty)
        buffer.append(8, limit: 3)
        XCTAssertEqual(contents(buffer), [8])
    }

    func testShrinkingReleasesOrder() {
        var buffer = MessageBuffer<Int>()
        for i in 1...500 { buffer.append(i, limit: 500) }
        buffer.append(501, limit: 3)
        XCTAssertEqual(contents(buffer), [499, 500, 501])
        for i in 502...510 { buffer.append(i, limit: 3) }
        XCTAssertEqual(contents(buffer), [508, 509, 510])
    }
}
