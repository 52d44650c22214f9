import XCTest
import FirehoseCore

/// Response heads, query strings, UTF-8 validation and metrics: the small pure pieces of the wire.
final class FramingTests: XCTestCase {
    func testResponseHeadMatchesThin() {
        let head = ResponseHead(status: .accepted, contentLength: 0, headers: [("Content-Type", "text/plain")], keepAlive: true)
        XCTAssertEqual(String(decoding: head.encoded(), as: UTF8.self),
                       "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n")
        let close = ResponseHead(status: .noContent, contentLength: 0, keepAlive: false)
        XCTAssertEqual(String(decoding: close.encoded(), as: UTF8.self),
                       "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\nServer: thin\r\n\r\n")
    }

    func testQueryString() {
        let query = Array("foo=bar&last_message_sequence=1&last_message_sequence=3&_=123&x".utf8)
        XCTAssertEqual(QueryString.value(of: "last_message_sequence", in: query).map { String(decoding: $0, as: UTF8.self) }, "3")
        XCTAssertEqual(QueryString.value(of: "x", in: query), [])
        XCTAssertNil(QueryString.value(of: "missing", in: query))
        XCTAssertEqual(String(decoding: QueryString.percentDecode(Array("%2Fa%211%2C%2Fb%210+%zz%4".utf8)), as: UTF8.self), "/a!1,/b!0 %zz%4")
    }

    func testUTF8Validation() {
        let valid: [[UInt8]] = [[], Array("plain ascii text longer than eight".utf8), Array("café ☃ 😀".utf8), [0xF4, 0x8F, 0xBF, 0xBF]]
        let invalid: [[UInt8]] = [[0xFF, 0xFE, 0x80, 0x61], Array("caf".utf8) + [0xE9], [0xC0, 0xAF], [0xED, 0xA0, 0x80],
                                  [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x98], Array("12345678".utf8) + [0x80]]
        for bytes in valid { XCTAssertTrue(UTF8Validation.isValid(bytes), "\(bytes)") }
        for bytes in invalid { XCTAssertFalse(UTF8Validation.isValid(bytes), "\(bytes)") }
    }

    func testMetricsShapeAndBounds() {
        let metrics = MetricsRecorder(interval: 10, keep: 2, channelLimit: 2)
        XCTAssertEqual(String(decoding: metrics.encoded(now: 1005), as: UTF8.self),
                       #"[{"time":1000,"global":{"active_channels":0},"channels":{}}]"#)
        metrics.record(.published, channel: "/a", now: 1005)
        metrics.record(.totalSize, channel: "/a", amount: 5, now: 1006)
        metrics.record(.subscribed, channel: "/b", now: 1007)
        metrics.record(.subscribed, channel: "/c", now: 1008)  // over the channel limit: global only
        XCTAssertEqual(String(decoding: metrics.encoded(now: 1009), as: UTF8.self),
                       #"[{"time":1000,"global":{"published":1,"subscribed":2,"active_channels":2},"channels":{"/a":{"published":1,"total_size":5},"/b":{"subscribed":1}}}]"#)
        _ = metrics.encoded(now: 1015)
        _ = metrics.encoded(now: 1025)
        XCTAssertEqual(String(decoding: metrics.encoded(now: 1025), as: UTF8.self),
                       #"[{"time":1010,"global":{"active_channels":0},"channels":{}},{"time":1020,"global":{"active_channels":0},"channels":{}}]"#)
    }
}

extension FramingTests {
    /// The busiest `reportedChannels` are listed, in first-seen order; `active_channels` counts all.
    func testMetricsListOnlyTheBusiestChannels() {
        let metrics = MetricsRecorder(interval: 10, keep: 1, channelLimit: 100, reportedChannels: 2)
        metrics.record(.published, channel: "/quiet", now: 1000)
        metrics.record(.published, channel: "/b", now: 1000)
        metrics.record(.subscribed, channel: "/b", now: 1000)
        metrics.record(.totalSize, channel: "/quiet", amount: 1000, now: 1000)  // bytes are not activity
        metrics.record(.published, channel: "/a", now: 1000)
        metrics.record(.published, channel: "/a", now: 1000)
        metrics.record(.published, channel: "/a", now: 1000)
        XCTAssertEqual(String(decoding: metrics.encoded(now: 1001), as: UTF8.self),
                       #"[{"time":1000,"global":{"published":5,"subscribed":1,"active_channels":3},"channels":{"/b":{"published":1,"subscribed":1},"/a":{"published":3}}}]"#)
    }

    /// One document per second, shared by every request in it.
    func testMetricsDocumentIsBuiltOncePerSecond() {
        let metrics = MetricsRecorder(interval: 10)
        let first = metrics.shared(now: 1000)
        metrics.record(.published, channel: "/a", now: 1000)
        XCTAssertTrue(metrics.shared(now: 1000) === first)
        XCTAssertEqual(metrics.documentsBuilt, 1)
        let next = metrics.shared(now: 1001)
        XCTAssertFalse(next === first)
        XCTAssertTrue(String(decoding: UnsafeRawBufferPointer(start: next.pointer, count: next.count), as: UTF8.self).contains(#""/a":{"published":1}"#))
    }
}
