import XCTest
import FirehoseCore

/// The per-message encoding cache: encoded once per format and shared, and bounded.
final class MessageTests: XCTestCase {
    func testEachFormatIsEncodedOnceAndShared() {
        let counter = Counter()
        let format = MessageFormat(name: "counting") { message in
            counter.increment()
            return SharedBytes(message.body)
        }
        let message = Message(channel: "/a", sequence: 1, body: Array("x".utf8))
        let first = message.encoded(as: format)
        let second = message.encoded(as: format)
        XCTAssertTrue(first === second)
        XCTAssertEqual(counter.value, 1)
        XCTAssertEqual(message.cachedEncodingCount, 1)
    }

    func testCacheKeepsAtMostTheSlotCount() {
        let message = Message(channel: "/a", sequence: 1, body: Array("x".utf8))
        let formats = (0..<(MessageFormat.cacheSlots + 3)).map { index in
            MessageFormat(name: "f\(index)") { _ in SharedBytes([UInt8(index)]) }
        }
        for format in formats { XCTAssertEqual(message.encoded(as: format).bytes, [UInt8(formats.firstIndex { $0 === format }!)]) }
        XCTAssertEqual(message.cachedEncodingCount, MessageFormat.cacheSlots)
        // A format past the slots is still encoded correctly each time, just not kept.
        let last = formats.last!
        XCTAssertFalse(message.encoded(as: last) === message.encoded(as: last))
    }

    func testFirehoseFramesAreDistinctFormats() {
        let message = Message(channel: "/a", sequence: 3, body: Array("a-3".utf8))
        XCTAssertEqual(String(decoding: message.encoded(as: FirehoseFrame.single).bytes, as: UTF8.self), #"{"message":"a-3","last_sequence":3}"#)
        XCTAssertEqual(String(decoding: message.encoded(as: FirehoseFrame.multiplexed).bytes, as: UTF8.self),
                       #"{"channel":"/a","message":"a-3","last_sequence":3}"#)
        XCTAssertEqual(message.cachedEncodingCount, 2)
    }
}

private final class Counter: @unchecked Sendable {
    private(set) var value = 0
    func increment() { value += 1 }
}
