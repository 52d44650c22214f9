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

    /// The response reuses the frame's encoding: one message, two cached encodings.
    func testResponseSharesTheFrameEncoding() {
        let message = Message(channel: "/a", sequence: 1, body: Array("x".utf8))
        _ = message.encoded(as: LongPollFormats.response)
        XCTAssertEqual(message.cachedEncodingCount, 2)
        _ = message.encoded(as: FirehoseFrame.single)
        XCTAssertEqual(message.cachedEncodingCount, 2)
    }
}
