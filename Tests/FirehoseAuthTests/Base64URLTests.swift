import FirehoseAuth
import XCTest

final class Base64URLTests: XCTestCase {
    func testRoundTripEveryLengthAndByte() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64URL.encode(bytes)
            XCTAssertFalse(text.contains("=") || text.contains("+") || text.contains("/"), text)
            XCTAssertEqual(Base64URL.decode(Array(text.utf8)), bytes, text)
        }
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(Base64URL.decode(Array(Base64URL.encode(all).utf8)), all)
    }

    func testKnownVectors() {
        // RFC 4648 §10.
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, standard) in vectors {
            XCTAssertEqual(Base64URL.encodeStandard(Array(plain.utf8)), standard)
            XCTAssertEqual(Base64URL.encode(Array(plain.utf8)), String(standard.filter { $0 != "=" }))
        }
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF]), "-_8")
        XCTAssertEqual(Base64URL.encodeStandard([0xFB, 0xFF]), "+/8=")
    }

    func testDecodeIsStrict() {
        // Padding, the standard alphabet, a lone final digit, spaces, and non-zero unused bits.
        for text in ["Zg==", "Zm8=", "+/8", "-_8=", "Z", "Zm9vY", "Zm 9v", "Zm9v\n", "Zh", "QR"] {
            XCTAssertNil(Base64URL.decode(Array(text.utf8)), "accepted \(text.debugDescription)")
        }
        XCTAssertEqual(Base64URL.decode(Array("Zm8".utf8)), Array("fo".utf8))
        XCTAssertEqual(Base64URL.decode(Array("-_8".utf8)), [0xFB, 0xFF])
        XCTAssertEqual(Base64URL.decode([UInt8]()), [])
    }
}
