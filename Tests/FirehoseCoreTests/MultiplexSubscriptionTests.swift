import XCTest
import FirehoseCore

/// Both multiplexed request forms (spec/http.md MUX-2, MUX-8) and our defined answers where the reference crashes (EXT-2, EXT-3).
final class MultiplexSubscriptionTests: XCTestCase {
    private func query(_ text: String) throws(MultiplexSubscription.Failure) -> [MultiplexSubscription] {
        try MultiplexSubscription.parseQuery(Array(text.utf8))
    }

    private func body(_ text: String) throws(MultiplexSubscription.Failure) -> [MultiplexSubscription] {
        try MultiplexSubscription.parseBody(Array(text.utf8))
    }

    private func pairs(_ list: [MultiplexSubscription]) -> [String] { list.map { "\($0.channel)!\($0.lastSequence)" } }

    func testQueryForm() throws {
        XCTAssertEqual(pairs(try query("/a!1,/b!2")), ["/a!1", "/b!2"])
        XCTAssertEqual(pairs(try query("/a")), ["/a!0"])
        XCTAssertEqual(pairs(try query("/a!-5")), ["/a!0"], "negatives clamp to 0 in GET")
        XCTAssertEqual(pairs(try query(",/a!3x,,/a!1,")), ["/a!3"], "empty entries skipped, first of a duplicate kept")
        for empty in ["", ",,", "!3"] {
            XCTAssertThrowsError(try query(empty)) { XCTAssertEqual($0 as? MultiplexSubscription.Failure, .nothingToSubscribe) }
        }
    }

    func testBodyForm() throws {
        XCTAssertEqual(pairs(try body(#"{"/a":0,"/b":{"last_message_sequence":1,"params":{"x":"y"}}}"#)), ["/a!0", "/b!1"])
        XCTAssertEqual(pairs(try body(#"{"/a":1.5}"#)), ["/a!1"])
        XCTAssertEqual(pairs(try body(#"[["/a",1],["/b",2]]"#)), ["/a!1", "/b!2"])
        XCTAssertEqual(pairs(try body(#"{"/a":"1","/b":"2"}"#)), ["/a!1", "/b!2"], "string sequences (PROTOCOL.md's example)")
        XCTAssertEqual(pairs(try body(#"{"/a":{"last_message_sequence":"2"}}"#)), ["/a!2"])
        XCTAssertEqual(pairs(try body(#"{"/a":{"message_sequence":2}}"#)), ["/a!2"])
    }

    func testBodyFailures() {
        let rows: [(String, MultiplexSubscription.Failure?)] = [
            ("{}", .nothingToSubscribe), ("", .nothingToSubscribe), (#"{"/a:"#, .nothingToSubscribe),
            (#"{"/a":-1}"#, .negativeSequence),
            (#""x""#, nil), ("5", nil), ("null", nil), (#"{"/a":null}"#, nil), (#"{"/a":true}"#, nil),
            ("[1]", nil), (#"{"/a":{"params":{}}}"#, nil), (#"{"/a":[1]}"#, nil),
        ]
        for (text, expected) in rows {
            XCTAssertThrowsError(try body(text), text) { error in
                let failure = error as? MultiplexSubscription.Failure
                if let expected {
                    XCTAssertEqual(failure, expected, text)
                } else if case .invalid = failure {
                } else {
                    XCTFail("\(text): expected .invalid, got \(String(describing: failure))")
                }
            }
        }
    }
}
