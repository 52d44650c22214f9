import XCTest
import FirehoseCore

/// The encoding rules of spec/http.md ENC-1 to ENC-4: Ruby `JSON.generate` byte for byte.
final class JSONWriterTests: XCTestCase {
    private func frame(_ body: [UInt8], sequence: Int = 1) -> String {
        String(decoding: Message(channel: "/c", sequence: sequence, body: body).encoded(as: FirehoseFrame.single).bytes, as: UTF8.self)
    }

    func testFrameShapes() {
        XCTAssertEqual(frame(Array("hi".utf8)), #"{"message":"hi","last_sequence":1}"#)
        XCTAssertEqual(frame([], sequence: 42), #"{"message":"","last_sequence":42}"#)
        let multiplexed = Message(channel: "/a", sequence: 3, body: Array("a-3".utf8)).encoded(as: FirehoseFrame.multiplexed).bytes
        XCTAssertEqual(String(decoding: multiplexed, as: UTF8.self), #"{"channel":"/a","message":"a-3","last_sequence":3}"#)
    }

    func testEscapingTable() {
        XCTAssertEqual(frame(Array("line1\nline2\r\nline3\n".utf8)), #"{"message":"line1\nline2\r\nline3\n","last_sequence":1}"#)
        XCTAssertEqual(frame(Array(#"he said "hi" \ back\slash / slash"#.utf8)),
                       #"{"message":"he said \"hi\" \\ back\\slash / slash","last_sequence":1}"#)
        XCTAssertEqual(frame(Array("café ☃ 😀 \u{2028}\u{2029}".utf8)), "{\"message\":\"café ☃ 😀 \u{2028}\u{2029}\",\"last_sequence\":1}")
        XCTAssertEqual(frame(Array("<script>alert('x')</script> & </".utf8)),
                       #"{"message":"<script>alert('x')</script> & </","last_sequence":1}"#)
    }

    func testControlBytes() {
        let body = (0...0x1F).map { UInt8($0) } + [0x7F]
        let expected = (0...0x1F).map { byte -> String in
            switch byte {
            case 0x08: return "\\b"
            case 0x09: return "\\t"
            case 0x0A: return "\\n"
            case 0x0C: return "\\f"
            case 0x0D: return "\\r"
            default:
                let hex = String(byte, radix: 16)
                return "\\u00" + (hex.count == 1 ? "0" + hex : hex)
            }
        }.joined() + "\u{7F}"
        XCTAssertEqual(frame(body), "{\"message\":\"\(expected)\",\"last_sequence\":1}")
    }

    func testEscapedLengthMatchesOutput() {
        let samples: [[UInt8]] = [Array("plain".utf8), Array("\"\\\n\u{01}é".utf8), (0...255).map { UInt8($0) }]
        for sample in samples {
            var out: [UInt8] = []
            JSONWriter.appendEscaped(sample, to: &out)
            XCTAssertEqual(out.count, JSONWriter.escapedLength(sample))
        }
    }

    /// The word-at-a-time count against the escaper's own output, at every offset and length
    /// around the 8-byte words, with one special byte at each position and random bytes.
    func testWordAtATimeLengthMatchesOutputEverywhere() {
        var generator = SystemRandomNumberGenerator()
        var samples: [[UInt8]] = []
        for length in 0...24 {
            for special: UInt8 in [0x00, 0x08, 0x0A, 0x1F, 0x20, 0x22, 0x5C, 0x7F, 0x80, 0xA2, 0xDC, 0xFF] {
                for position in 0..<max(length, 1) {
                    var sample = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    if position < length { sample[position] = special }
                    samples.append(sample)
                }
            }
        }
        for _ in 0..<2000 {
            samples.append((0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        for sample in samples {
            var out: [UInt8] = []
            JSONWriter.appendEscaped(sample, to: &out)
            for offset in 0..<min(sample.count, 3) + 1 where offset <= sample.count {
                let tail = Array(sample[offset...])
                var expected: [UInt8] = []
                JSONWriter.appendEscaped(tail, to: &expected)
                XCTAssertEqual(tail.withUnsafeBytes { JSONWriter.escapedLength($0) }, expected.count, "\(tail)")
            }
            XCTAssertEqual(JSONWriter.escapedLength(sample[...]), out.count, "an ArraySlice, \(sample)")
            XCTAssertEqual(JSONWriter.escapedLength(AnyCollection(sample)), out.count, "a non-contiguous collection, \(sample)")
        }
    }

    func testDecimals() {
        for value in [0, 1, 9, 10, -1, 1234567890, Int.max, Int.min] {
            var out: [UInt8] = []
            JSONWriter.appendDecimal(value, to: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), String(value))
        }
    }
}
