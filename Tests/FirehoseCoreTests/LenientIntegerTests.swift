import XCTest
import FirehoseCore

/// Ruby `String#to_i` semantics for sequence parameters (spec/http.md LP-8).
final class LenientIntegerTests: XCTestCase {
    func testTable() {
        let rows: [(String, Int)] = [
            ("0", 0), ("5", 5), ("-1", -1), ("+7", 7), ("abc", 0), ("", 0), ("-0", 0),
            ("3abc", 3), (" 3", 3), ("\t\n12", 12), ("2.9", 2), ("1_000", 1000), ("1__0", 1), ("_1", 0),
            ("12_", 12), ("- 3", 0), ("99999999999999999999999", Int.max), ("-99999999999999999999999", Int.min),
        ]
        for (text, expected) in rows {
            XCTAssertEqual(LenientInteger.parse(text), expected, "\"\(text)\".to_i")
        }
    }

    func testTruncatingDoubles() {
        XCTAssertEqual(LenientInteger.truncating(1.5), 1)
        XCTAssertEqual(LenientInteger.truncating(-1.5), -1)
        XCTAssertEqual(LenientInteger.truncating(1e30), Int.max)
        XCTAssertEqual(LenientInteger.truncating(.nan), 0)
    }
}
