import XCTest
import FirehoseCore

/// The per-message encoding cache: encoded once per format and shared, bounded, and every format
/// sharing one copy of the body (spec LIM-6).
final class MessageTests: XCTestCase {
    func testEachFormatIsEncodedOnceAndShared() {
        let counter = Counter()
        let format = MessageFormat(name: "counting") { _, _ in
            counter.increment()
            return ([], [])
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
            MessageFormat(name: "f\(index)") { _, _ in ([UInt8(index)], []) }
        }
        for format in formats { XCTAssertEqual(message.encoded(as: format).bytes, [UInt8(formats.firstIndex { $0 === format }!)] + Array("x".utf8)) }
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

    /// A body with nothing to escape is carried by its own bytes: no copy at all.
    func testABodyNeedingNoRewriteIsSharedNotCopied() {
        let message = Message(channel: "/a", sequence: 1, body: Array("plain text".utf8))
        let frame = message.encoded(as: FirehoseFrame.single)
        let multiplexed = message.encoded(as: FirehoseFrame.multiplexed)
        XCTAssertTrue(frame.body === multiplexed.body)
        XCTAssertTrue(frame.body.isBorrowed, "the body's own storage, not a copy")
        XCTAssertEqual(message.heldBytes, message.body.count + frame.framingCount + multiplexed.framingCount)
    }

    /// Every JSON format shares one escaped copy; a second, different rewrite (SSE lines of a body
    /// with line breaks) is built for its caller and neither it nor its encoding is kept.
    func testAtMostOneRewrittenCopyIsKept() {
        let body = Array("a\u{01}\nb\r\nc".utf8)
        let message = Message(channel: "/a", sequence: 2, body: body)
        let frame = message.encoded(as: FirehoseFrame.single)
        XCTAssertTrue(frame.body === message.encoded(as: FirehoseFrame.multiplexed).body)
        XCTAssertEqual(frame.body.bytes, Array(#"a\u0001\nb\r\nc"#.utf8))
        let lines = MessageFormat(name: "lines", rewrite: .eventStreamLines) { _, _ in ([], []) }
        XCTAssertEqual(message.encoded(as: lines).body.bytes, Array("a\u{01}\ndata: b\ndata: c".utf8))
        XCTAssertEqual(message.cachedEncodingCount, 2, "the SSE encoding is not kept")
        XCTAssertEqual(message.heldBytes - body.count - frame.body.count, frame.framingCount + message.encoded(as: FirehoseFrame.multiplexed).framingCount)
        XCTAssertEqual(message.largestRewriteLength, max(frame.body.count, BodyRewrite.eventStreamLines.length(of: body)))
    }
}

private final class Counter: @unchecked Sendable {
    private(set) var value = 0
    func increment() { value += 1 }
}
