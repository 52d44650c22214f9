import XCTest
import FirehoseCore

/// `UTF8Validation` (UTF8Validation.swift): checked against a table, and exhaustively against the
/// standard library's UTF-8 decoder for every sequence of up to three bytes after ASCII prefixes
/// of every length (so both the eight-byte fast path and the byte loop are reached).
final class UTF8ValidationTests: XCTestCase {
    func testUTF8Validation() {
        let valid: [[UInt8]] = [[], Array("plain ascii text longer than eight".utf8), Array("café ☃ 😀".utf8), [0xF4, 0x8F, 0xBF, 0xBF]]
        let invalid: [[UInt8]] = [[0xFF, 0xFE, 0x80, 0x61], Array("caf".utf8) + [0xE9], [0xC0, 0xAF], [0xED, 0xA0, 0x80],
                                  [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x98], Array("12345678".utf8) + [0x80]]
        for bytes in valid { XCTAssertTrue(UTF8Validation.isValid(bytes), "\(bytes)") }
        for bytes in invalid { XCTAssertFalse(UTF8Validation.isValid(bytes), "\(bytes)") }
    }

    func testBoundaryTable() {
        let cases: [(name: String, bytes: [UInt8], valid: Bool)] = [
            ("U+007F", [0x7F], true),
            ("U+0080", [0xC2, 0x80], true),
            ("overlong U+007F", [0xC1, 0xBF], false),
            ("U+07FF", [0xDF, 0xBF], true),
            ("U+0800", [0xE0, 0xA0, 0x80], true),
            ("overlong U+07FF", [0xE0, 0x9F, 0xBF], false),
            ("U+D7FF", [0xED, 0x9F, 0xBF], true),
            ("surrogate U+D800", [0xED, 0xA0, 0x80], false),
            ("surrogate U+DFFF", [0xED, 0xBF, 0xBF], false),
            ("U+E000", [0xEE, 0x80, 0x80], true),
            ("U+FFFF", [0xEF, 0xBF, 0xBF], true),
            ("U+10000", [0xF0, 0x90, 0x80, 0x80], true),
            ("overlong U+FFFF", [0xF0, 0x8F, 0xBF, 0xBF], false),
            ("U+10FFFF", [0xF4, 0x8F, 0xBF, 0xBF], true),
            ("U+110000", [0xF4, 0x90, 0x80, 0x80], false),
            ("F5 lead", [0xF5, 0x80, 0x80, 0x80], false),
            ("lone continuation", [0x80], false),
            ("truncated 4-byte at the end", [0xF0, 0x90, 0x80], false),
            ("bad third byte", [0xE2, 0x28, 0xA1], false),
            ("bad fourth byte", [0xF0, 0x90, 0x80, 0x28], false),
            ("NUL is valid", [0], true),
            ("multibyte right after eight ASCII", Array("abcdefgh".utf8) + [0xC3, 0xA9], true),
            ("invalid after sixteen ASCII", Array("abcdefghabcdefgh".utf8) + [0xC3], false),
        ]
        for test in cases { XCTAssertEqual(UTF8Validation.isValid(test.bytes), test.valid, test.name) }
    }

    func testAgreesWithTheStandardLibraryOnEveryShortSequence() {
        // 2^8 + 2^16 + 2^24 tails would be too many for a unit test; all one- and two-byte tails and
        // every three-byte tail that starts with a multibyte lead (E0...F4, or C2...DF then anything).
        var mismatches: [[UInt8]] = []
        for prefix in [0, 1, 7, 8, 9] {
            let ascii = [UInt8](repeating: UInt8(ascii: "a"), count: prefix)
            var bytes = ascii + [0, 0]
            for b0 in 0...255 {
                for b1 in 0...255 {
                    bytes[prefix] = UInt8(b0)
                    bytes[prefix + 1] = UInt8(b1)
                    if UTF8Validation.isValid(bytes) != Self.standardLibraryAccepts(bytes) { mismatches.append(bytes) }
                }
            }
        }
        var three: [UInt8] = [0, 0, 0]
        for b0 in 0xC2...0xF4 {
            for b1 in 0...255 {
                for b2 in 0...255 {
                    three[0] = UInt8(b0)
                    three[1] = UInt8(b1)
                    three[2] = UInt8(b2)
                    if UTF8Validation.isValid(three) != Self.standardLibraryAccepts(three) { mismatches.append(three) }
                }
            }
        }
        XCTAssertEqual(mismatches.prefix(10).map { $0 }, [], "\(mismatches.count) disagreements")
    }

    func testAgreesOnRandomText() {
        // Mostly valid text with a few bytes changed, at every alignment relative to the 8-byte path.
        var random = SystemRandomNumberGenerator()
        let sample = Array("Firehose ☃ café 😀 \u{10FFFF} end of line\n".utf8)
        for _ in 0..<5_000 {
            var bytes = Array(sample[Int.random(in: 0..<sample.count, using: &random)...])
            for _ in 0..<Int.random(in: 0...2, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            XCTAssertEqual(UTF8Validation.isValid(bytes), Self.standardLibraryAccepts(bytes), "\(bytes)")
        }
    }

    private static func standardLibraryAccepts(_ bytes: [UInt8]) -> Bool {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
