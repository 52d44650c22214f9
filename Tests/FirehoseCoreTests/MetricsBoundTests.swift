import XCTest
import FirehoseCore

/// The /metrics@firehose bounds of spec/limits.md LIM-5.
final class MetricsBoundTests: XCTestCase {
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
