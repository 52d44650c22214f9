import XCTest
import FirehoseCore

/// `SHA1` and `Base64` (SHA1.swift), which only the WebSocket handshake uses; checked against the
/// FIPS 180 examples and RFC 4648's test vectors.
final class SHA1Tests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

    func testDigests() {
        let cases: [(input: [UInt8], digest: String)] = [
            ([], "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (Array("abc".utf8), "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
            (Array("The quick brown fox jumps over the lazy dog".utf8), "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
            // The handshake's own input: key + GUID (RFC 6455 section 1.3).
            (Array("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11".utf8), "b37a4f2cc0624f1690f64606cf385945b2bec4ea"),
            ([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
        ]
        for test in cases { XCTAssertEqual(hex(SHA1.digest(test.input)), test.digest, "\(test.input.count) bytes") }
    }

    func testPaddingBoundaries() {
        // Lengths around the 55/56/64-byte padding edges must all give distinct 20-byte digests.
        var seen = Set<String>()
        for length in [54, 55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let digest = SHA1.digest([UInt8](repeating: 0x61, count: length))
            XCTAssertEqual(digest.count, 20)
            seen.insert(hex(digest))
        }
        XCTAssertEqual(seen.count, 10)
        XCTAssertEqual(hex(SHA1.digest([UInt8](repeating: 0x61, count: 64))), "0098ba824b5c16427bd7a1122a5a442a25ec644d")
    }

    func testBase64() {
        let cases: [(input: String, encoded: String)] = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
        ]
        for test in cases { XCTAssertEqual(Base64.encode(Array(test.input.utf8)), test.encoded, test.input) }
        XCTAssertEqual(Base64.encode([0xFB, 0xFF, 0xBF]), "+/+/", "the last two alphabet characters")
        XCTAssertEqual(Base64.encode(SHA1.digest(Array("dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11".utf8))),
                       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
