import XCTest
import FirehoseCore
@testable import FirehoseServer

/// `WebSocketFormats` (Transports/WebSocket/WebSocketFraming.swift): a message's WebSocket text
/// frame is the frame header, then exactly the Firehose frame, at every header size.
final class WebSocketFormatsTests: XCTestCase {
    func testSingleFrameIsHeaderThenFirehoseFrame() {
        // Payload lengths around the 7-bit (125), 16-bit (65,535) length boundaries.
        for (bodyLength, headerLength) in [(0, 2), (89, 2), (90, 4), (200, 4), (65_499, 4), (65_500, 10), (70_000, 10)] {
            let body = [UInt8](repeating: UInt8(ascii: "a"), count: bodyLength)
            let message = Message(channel: "/c", sequence: 12_345, body: body)
            let frame = message.encoded(as: WebSocketFormats.single).bytes
            let payload = FirehoseFrame.encode(channel: nil, body: body, sequence: 12_345)
            XCTAssertEqual(frame.first, 0x81, "FIN + text, body \(bodyLength)")
            XCTAssertEqual(frame.count, headerLength + payload.count, "body \(bodyLength)")
            var declared = Int(frame[1])
            if headerLength == 4 { declared = Int(frame[2]) << 8 | Int(frame[3]) }
            if headerLength == 10 { declared = frame[2..<10].reduce(0) { $0 << 8 | Int($1) } }
            XCTAssertEqual(declared, payload.count, "declared length, body \(bodyLength)")
            XCTAssertEqual(Array(frame[headerLength...]), payload, "payload, body \(bodyLength)")
        }
    }
}
