import XCTest
import FirehoseCore

/// `QueryString` (QueryString.swift): Rack's query parsing, as far as the handlers read it.
final class QueryStringTests: XCTestCase {
    private func value(_ name: String, _ query: String) -> String? {
        QueryString.value(of: name, in: Array(query.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    func testQueryString() {
        let query = Array("foo=bar&last_message_sequence=1&last_message_sequence=3&_=123&x".utf8)
        XCTAssertEqual(QueryString.value(of: "last_message_sequence", in: query).map { String(decoding: $0, as: UTF8.self) }, "3")
        XCTAssertEqual(QueryString.value(of: "x", in: query), [])
        XCTAssertNil(QueryString.value(of: "missing", in: query))
        XCTAssertEqual(String(decoding: QueryString.percentDecode(Array("%2Fa%211%2C%2Fb%210+%zz%4".utf8)), as: UTF8.self), "/a!1,/b!0 %zz%4")
    }

    func testValueTable() {
        let cases: [(name: String, query: String, wanted: String, value: String?)] = [
            ("the only pair", "a=1", "a", "1"),
            ("the last one wins", "a=1&a=2&a=3", "a", "3"),
            ("a name alone is empty", "a", "a", ""),
            ("an empty value", "a=", "a", ""),
            ("a value with '='", "a=b=c", "a", "b=c"),
            ("missing", "b=1", "a", nil),
            ("a prefix is not the name", "ab=1", "a", nil),
            ("a longer name is not the name", "a=1", "ab", nil),
            ("empty pairs skipped", "&&a=1&&", "a", "1"),
            ("an empty query", "", "a", nil),
            ("value decoded, + is space", "a=%2Fx+y%21", "a", "/x y!"),
            ("name decoded", "last%5Fmessage%5Fsequence=4", "last_message_sequence", "4"),
            ("name with + as space", "a+b=5", "a b", "5"),
            ("an encoded '&' stays in the value", "a=1%262&b=3", "a", "1&2"),
            ("a later bare name wins too", "a=1&a", "a", ""),
            ("invalid escapes kept", "a=%zz%4", "a", "%zz%4"),
        ]
        for test in cases { XCTAssertEqual(value(test.wanted, test.query), test.value, test.name) }
    }

    func testWorksOnSlices() {
        let target = Array("/c?last_message_sequence=9&x=1".utf8)
        let query = target[(target.firstIndex(of: UInt8(ascii: "?"))! + 1)...]
        XCTAssertEqual(QueryString.value(of: "last_message_sequence", in: query), Array("9".utf8))
        XCTAssertEqual(QueryString.value(of: "x", in: query), Array("1".utf8))
    }

    func testPercentDecodeTable() {
        let cases: [(encoded: String, decoded: [UInt8])] = [
            ("", []),
            ("plain", Array("plain".utf8)),
            ("%41%62", Array("Ab".utf8)),
            ("%e2%98%83", Array("☃".utf8)),
            ("%E2%98%83", Array("☃".utf8)),
            ("%00", [0]),
            ("%ff", [0xFF]),
            ("+", Array(" ".utf8)),
            ("%2B", Array("+".utf8)),
            ("%", Array("%".utf8)),
            ("%4", Array("%4".utf8)),
            ("%g1", Array("%g1".utf8)),
            ("100%", Array("100%".utf8)),
            ("%%41", Array("%A".utf8)),
        ]
        for test in cases { XCTAssertEqual(QueryString.percentDecode(Array(test.encoded.utf8)), test.decoded, test.encoded) }
    }
}
