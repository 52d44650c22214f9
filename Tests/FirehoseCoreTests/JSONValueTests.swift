import XCTest
import FirehoseCore

final class JSONValueTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    func testValuesAndOrder() throws {
        let value = try parse(#" {"/b":1, "/a":{"last_message_sequence":2.5,"params":{"x":"y"}}, "s":"\u00e9\ud83d\ude00\n", "n":null, "t":true, "l":[1,-2e2]} "#)
        guard case let .object(members) = value else { return XCTFail("not an object") }
        XCTAssertEqual(members.map(\.0), ["/b", "/a", "s", "n", "t", "l"])
        XCTAssertEqual(value["/b"], .number(1))
        XCTAssertEqual(value["/a"]?["last_message_sequence"], .number(2.5))
        XCTAssertEqual(value["s"], .string("é😀\n"))
        XCTAssertEqual(value["n"], .null)
        XCTAssertEqual(value["t"], .bool(true))
        XCTAssertEqual(value["l"], .array([.number(1), .number(-200)]))
    }

    func testRejectsInvalidDocuments() {
        for text in ["", "{", #"{"/a:"#, "{'a':1}", "[1,]", "01", "1.", "tru", #""\x""#, #""\ud800""#, "{} x", "\"a\nb\""] {
            XCTAssertThrowsError(try parse(text), "accepted \(text.debugDescription)")
        }
    }

    func testEqualityKeepsMemberOrder() {
        let cases: [(a: JSONValue, b: JSONValue, equal: Bool)] = [
            (.object([("a", .number(1)), ("b", .null)]), .object([("a", .number(1)), ("b", .null)]), true),
            (.object([("a", .number(1)), ("b", .null)]), .object([("b", .null), ("a", .number(1))]), false),
            (.object([("a", .number(1))]), .object([("a", .number(1)), ("a", .number(1))]), false),
            (.array([.bool(true), .string("x")]), .array([.bool(true), .string("x")]), true),
            (.array([.bool(true)]), .array([.bool(false)]), false),
            (.number(1), .string("1"), false),
            (.null, .null, true),
            (.object([]), .array([]), false),
        ]
        for test in cases { XCTAssertEqual(test.a == test.b, test.equal, "\(test.a) vs \(test.b)") }
    }

    func testSubscriptReadsTheFirstMemberOfObjectsOnly() throws {
        XCTAssertEqual(try parse(#"{"a":1,"a":2}"#)["a"], .number(1))
        XCTAssertNil(try parse(#"{"a":1}"#)["b"])
        XCTAssertNil(try parse(#"[["a",1]]"#)["a"])
        XCTAssertNil(try parse(#""a""#)["a"])
    }

    func testNestingIsBounded() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try parse(deep))
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        XCTAssertNoThrow(try parse(fine))
    }
}
