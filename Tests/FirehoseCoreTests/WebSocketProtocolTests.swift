import XCTest
import FirehoseCore

final class WebSocketProtocolTests: XCTestCase {
    func testAcceptValueFromRFC6455() {
        XCTAssertEqual(WebSocketProtocol.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        XCTAssertEqual(Base64.encode(Array("f".utf8)), "Zg==")
        XCTAssertEqual(Base64.encode(Array("fo".utf8)), "Zm8=")
        XCTAssertEqual(Base64.encode(Array("foo".utf8)), "Zm9v")
        XCTAssertEqual(SHA1.digest([]).map { String(format2: $0) }.joined(), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    func testFrameHeaders() {
        var out: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        XCTAssertEqual(WebSocketProtocol.textFrameHeader(length: 15, into: &out), 2)
        XCTAssertEqual([out.0, out.1], [0x81, 0x0F])
        XCTAssertEqual(WebSocketProtocol.textFrameHeader(length: 300, into: &out), 4)
        XCTAssertEqual([out.0, out.1, out.2, out.3], [0x81, 126, 0x01, 0x2C])
        // The reference's 1,112,067-byte frame: 817f000000000010f803.
        XCTAssertEqual(WebSocketProtocol.textFrameHeader(length: 1_112_067, into: &out), 10)
        XCTAssertEqual([out.0, out.1, out.2, out.3, out.4, out.5, out.6, out.7, out.8, out.9], [0x81, 0x7F, 0, 0, 0, 0, 0, 0x10, 0xF8, 0x03])
    }

    func testIncomingFrameHeaders() {
        func header(_ bytes: [UInt8]) -> WebSocketProtocol.FrameHeader? { bytes.withUnsafeBytes { WebSocketProtocol.frameHeader($0) } }
        XCTAssertNil(header([0x81]))
        XCTAssertNil(header([0x81, 0x8F, 1, 2, 3]), "the masking key is part of the header")
        XCTAssertEqual(header([0x81, 0x8F, 1, 2, 3, 4]), .init(fin: true, opcode: 1, headerLength: 6, payloadLength: 15))
        XCTAssertEqual(header([0x01, 0x05]), .init(fin: false, opcode: 1, headerLength: 2, payloadLength: 5))
        XCTAssertNil(header([0x82, 0xFE, 0x01]), "16-bit length not complete")
        XCTAssertNil(header([0x82, 0xFE, 0x01, 0x2C]), "masking key not complete")
        XCTAssertEqual(header([0x82, 0xFE, 0x01, 0x2C, 1, 2, 3, 4]), .init(fin: true, opcode: 2, headerLength: 8, payloadLength: 300))
        XCTAssertNil(header([0x81, 0xFF, 0, 0, 0, 0]))
        let big = header([0x80, 0xFF, 0, 0, 0, 0, 0x04, 0, 0, 0, 9, 9, 9, 9])
        XCTAssertEqual(big, .init(fin: true, opcode: 0, headerLength: 14, payloadLength: 64 << 20))
        XCTAssertEqual(header([0x89, 0x80, 1, 2, 3, 4])?.isControl, true)
    }

    func testChannelCommands() {
        let rows: [(String, Bool, WebSocketProtocol.ChannelCommand)] = [
            (#"{"ping":"PING"}"#, false, .ping),
            (#"{"ping":"ping"}"#, false, .subscribe(lastSequence: 0)),
            (#"{"ping":"PING","last_message_sequence":9}"#, false, .ping),
            (#"{"last_message_sequence":5}"#, false, .subscribe(lastSequence: 5)),
            (#"{"message_sequence":5}"#, false, .subscribe(lastSequence: 5)),
            (#"{"last_message_sequence":"7"}"#, false, .subscribe(lastSequence: 7)),
            (#"{"last_message_sequence":-1}"#, false, .subscribe(lastSequence: 0)),
            (#"{"foo":1}"#, false, .subscribe(lastSequence: 0)),
            ("this is not json", false, .subscribe(lastSequence: 0)),
            ("5", false, .subscribe(lastSequence: 0)),
            ("null", false, .subscribe(lastSequence: 0)),
            (#"{"last_message_sequence":5}"#, true, .subscribe(lastSequence: 0)),
            (#"{"last_message_sequence":null,"message_sequence":5}"#, false, .subscribe(lastSequence: 5)),
            (#"{"last_message_sequence":false,"message_sequence":5}"#, false, .subscribe(lastSequence: 5)),
            (#"{"last_message_sequence":{"last_message_sequence":5}}"#, false, .subscribe(lastSequence: 0)),
            (#"{"last_message_sequence":true}"#, false, .subscribe(lastSequence: 0)),
        ]
        for (text, binary, expected) in rows {
            XCTAssertEqual(WebSocketProtocol.channelCommand(Array(text.utf8), binary: binary), expected, text)
        }
    }

    func testMultiplexCommands() {
        typealias Sub = MultiplexSubscription
        let rows: [(String, WebSocketProtocol.MultiplexCommand)] = [
            (#"{"ping":"PING"}"#, .ping),
            (#"{"multiplex_subscribe":{"channel":"/a","message_sequence":0}}"#, .subscribe([Sub(channel: "/a", lastSequence: 0)])),
            (#"{"multiplex_subscribe":[{"channel":"/b","last_message_sequence":2},{"channel":"/c","last_message_sequence":-1,"params":{"x":"y"}},{"last_message_sequence":3}]}"#,
             .subscribe([Sub(channel: "/b", lastSequence: 2), Sub(channel: "/c", lastSequence: 0)])),
            (#"{"multiplex_unsubscribe":["/a","/b"]}"#, .unsubscribe(["/a", "/b"])),
            (#"{"multiplex_unsubscribe":"/b"}"#, .unsubscribe(["/b"])),
            (#"{"multiplex_subscribe":"/a"}"#, .ignore),
            (#"{"last_message_sequence":0}"#, .ignore),
            (#"{"ping":"PING","multiplex_subscribe":{"channel":"/a"}}"#, .subscribe([Sub(channel: "/a", lastSequence: 0)])),
            (#"{"ping":"PING","multiplex_unsubscribe":"/a"}"#, .unsubscribe(["/a"])),
            ("garbage", .ignore),
            ("5", .ignore),
        ]
        for (text, expected) in rows {
            XCTAssertEqual(WebSocketProtocol.multiplexCommand(Array(text.utf8), binary: false), expected, text)
        }
    }
}

private extension String {
    init(format2 byte: UInt8) {
        let hex = String(byte, radix: 16)
        self = hex.count == 1 ? "0" + hex : hex
    }
}
