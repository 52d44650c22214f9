import XCTest
import FirehoseCore

/// `FirehoseFrame` (FirehoseFrame.swift): the JSON frame every client parses. The escaping table is
/// JSONWriterTests'; this covers the frame shapes and the two formats.
final class FirehoseFrameTests: XCTestCase {
    func testEncode() {
        let cases: [(channel: String?, body: String, sequence: Int, frame: String)] = [
            (nil, "hi", 1, #"{"message":"hi","last_sequence":1}"#),
            (nil, "", 42, #"{"message":"","last_sequence":42}"#),
            ("/a", "a-3", 3, #"{"channel":"/a","message":"a-3","last_sequence":3}"#),
            ("/q\"uote", "x", 9, #"{"channel":"/q\"uote","message":"x","last_sequence":9}"#),
            ("/n", "two\nlines", 12_345, #"{"channel":"/n","message":"two\nlines","last_sequence":12345}"#),
            ("", "x", 1, #"{"channel":"","message":"x","last_sequence":1}"#),
            // The tail's digits are written in place, right to left: every length, up to the largest.
            (nil, "x", 0, #"{"message":"x","last_sequence":0}"#),
            (nil, "x", 9, #"{"message":"x","last_sequence":9}"#),
            (nil, "x", 10, #"{"message":"x","last_sequence":10}"#),
            (nil, "x", 100, #"{"message":"x","last_sequence":100}"#),
            (nil, "x", Int.max, #"{"message":"x","last_sequence":9223372036854775807}"#),
        ]
        for test in cases {
            XCTAssertEqual(String(decoding: FirehoseFrame.encode(channel: test.channel, body: Array(test.body.utf8), sequence: test.sequence), as: UTF8.self),
                           test.frame)
        }
    }

    func testFormatsMatchEncode() {
        let message = Message(channel: "/m", sequence: 7, body: Array("b\u{1}".utf8))
        XCTAssertEqual(message.encoded(as: FirehoseFrame.single).bytes, FirehoseFrame.encode(channel: nil, body: message.body, sequence: 7))
        XCTAssertEqual(message.encoded(as: FirehoseFrame.multiplexed).bytes, FirehoseFrame.encode(channel: "/m", body: message.body, sequence: 7))
        XCTAssertFalse(FirehoseFrame.single === FirehoseFrame.multiplexed)
    }

    func testFrameParsesAsJSON() throws {
        let frame = FirehoseFrame.encode(channel: "/a", body: Array("é \"q\" \\ \t".utf8), sequence: 3)
        let value = try JSONParser.parse(frame)
        XCTAssertEqual(value["channel"], .string("/a"))
        XCTAssertEqual(value["message"], .string("é \"q\" \\ \t"))
        XCTAssertEqual(value["last_sequence"], .number(3))
    }
}
