import FirehoseAuth
import FirehoseCore
import XCTest

final class WebSocketAcceptTests: XCTestCase {
    func testMatchesTheRFCAndTheServersOwnSHA1() {
        // RFC 6455 §1.3.
        XCTAssertEqual(WebSocketAccept.key(for: Array("dGhlIHNhbXBsZSBub25jZQ==".utf8)), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        for _ in 0..<50 {
            let key = Base64URL.encodeStandard((0..<16).map { _ in UInt8.random(in: 0...255) })
            XCTAssertEqual(WebSocketAccept.key(for: key.utf8), WebSocketProtocol.acceptValue(forKey: key))
        }
    }
}
