import XCTest
import FirehoseCore
@testable import FirehoseServer

/// The long-poll transport's own encodings of a message: whole keep-alive responses.
final class LongPollFormatsTests: XCTestCase {
    func testPreEncodedLongPollResponses() {
        let message = Message(channel: "/a", sequence: 3, body: Array("a-3".utf8))
        XCTAssertEqual(String(decoding: message.encoded(as: LongPollFormats.response).bytes, as: UTF8.self),
                       "HTTP/1.1 200 OK\r\nContent-Length: 35\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n{\"message\":\"a-3\",\"last_sequence\":3}")
        XCTAssertEqual(String(decoding: message.encoded(as: LongPollFormats.multiplexedResponse).bytes, as: UTF8.self),
                       "HTTP/1.1 200 OK\r\nContent-Length: 50\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n{\"channel\":\"/a\",\"message\":\"a-3\",\"last_sequence\":3}")
    }

    /// The response and the frame share the message's escaped body: each keeps only its head and tail.
    func testResponseSharesTheFrameBody() {
        let message = Message(channel: "/a", sequence: 1, body: Array("\"x\"".utf8))
        let response = message.encoded(as: LongPollFormats.response)
        XCTAssertEqual(message.cachedEncodingCount, 1)
        let frame = message.encoded(as: FirehoseFrame.single)
        XCTAssertEqual(message.cachedEncodingCount, 2)
        XCTAssertTrue(response.body === frame.body)
        XCTAssertEqual(message.heldBytes, 3 + 5 + response.framingCount + frame.framingCount)
    }
}
