import XCTest
import FirehoseCore

/// `MetricsRecorder` (MetricsRecorder.swift): the reference's `/metrics@firehose` buckets, and the
/// cumulative totals beside them.
final class MetricsRecorderTests: XCTestCase {
    private func json(_ metrics: MetricsRecorder, now: Int) -> String { String(decoding: metrics.encoded(now: now), as: UTF8.self) }

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

    /// `recordPublish` is `published` and `totalSize` recorded together: the same document and
    /// totals as the two calls, for a new channel, a known one, and one past the channel limit.
    func testRecordPublishIsPublishedAndTotalSize() {
        let together = MetricsRecorder(interval: 10, keep: 2, channelLimit: 1)
        let apart = MetricsRecorder(interval: 10, keep: 2, channelLimit: 1)
        for (channel, size, now) in [("/a", 5, 1001), ("/a", 7, 1002), ("/b", 11, 1003), ("/a", 2, 1012)] {
            together.recordPublish(channel: channel, size: size, now: now)
            apart.record(.published, channel: channel, now: now)
            apart.record(.totalSize, channel: channel, amount: size, now: now)
        }
        XCTAssertEqual(json(together, now: 1013), json(apart, now: 1013))
        XCTAssertEqual(json(together, now: 1013),
                       #"[{"time":1000,"global":{"published":3,"active_channels":1},"channels":{"/a":{"published":2,"total_size":12}}},{"time":1010,"global":{"published":1,"active_channels":1},"channels":{"/a":{"published":1,"total_size":2}}}]"#)
        XCTAssertEqual(together.total(.published), 4)
        XCTAssertEqual(together.total(.totalSize), 25)
    }

    func testTotalsAreCumulativeAcrossBuckets() {
        // One bucket of 10 s kept: the buckets forget, the totals do not.
        let metrics = MetricsRecorder(interval: 10, keep: 1, channelLimit: 1)
        let records: [(counter: MetricsRecorder.Counter, channel: String?, amount: Int, now: Int)] = [
            (.published, "/a", 1, 1000),
            (.published, "/b", 1, 1001),  // past the channel limit: still counted
            (.totalSize, "/a", 300, 1002),
            (.subscribed, nil, 1, 1003),
            (.published, "/a", 1, 1015),  // a new bucket
            (.totalSize, "/a", 20, 1016),
            (.timeouts, nil, 4, 1099),
            (.published, nil, 1, 5000),
        ]
        for record in records { metrics.record(record.counter, channel: record.channel, amount: record.amount, now: record.now) }
        let expected: [MetricsRecorder.Counter: Int] = [.published: 4, .totalSize: 320, .subscribed: 1, .timeouts: 4]
        for counter in MetricsRecorder.Counter.allCases {
            XCTAssertEqual(metrics.total(counter), expected[counter, default: 0], counter.rawValue)
        }
        XCTAssertEqual(json(metrics, now: 5000), #"[{"time":5000,"global":{"published":1,"active_channels":0},"channels":{}}]"#,
                       "the bucket holds only its own 10 s")
    }

    func testTotalsStartAtZeroAndIgnoreReads() {
        let metrics = MetricsRecorder()
        _ = metrics.encoded(now: 100)
        for counter in MetricsRecorder.Counter.allCases { XCTAssertEqual(metrics.total(counter), 0, counter.rawValue) }
    }

    func testCounterNamesAreTheReferences() {
        XCTAssertEqual(MetricsRecorder.Counter.allCases.map(\.rawValue), [
            "published", "total_size", "subscribed", "subscribed_multiplexed_long_polling", "subscribed_ws",
            "subscribed_multiplexed_ws", "subscribed_multiplexed_ws_dynamic", "duplicate_multiplex_subscription",
            "timeouts", "errors", "connections_opened", "connections_closed",
        ])
        // Each counter has its own total (the index table has no two counters on one slot).
        let metrics = MetricsRecorder()
        for (index, counter) in MetricsRecorder.Counter.allCases.enumerated() {
            metrics.record(counter, amount: index + 1, now: 0)
        }
        for (index, counter) in MetricsRecorder.Counter.allCases.enumerated() {
            XCTAssertEqual(metrics.total(counter), index + 1, counter.rawValue)
        }
    }

    func testBucketTimes() {
        let cases: [(interval: Int, now: Int, time: Int)] = [
            (10, 1000, 1000), (10, 1009, 1000), (10, 1010, 1010), (60, 119, 60), (1, 7, 7), (10, -5, -10), (0, 7, 7),
        ]
        for test in cases {
            let metrics = MetricsRecorder(interval: test.interval)
            XCTAssertEqual(json(metrics, now: test.now), #"[{"time":\#(test.time),"global":{"active_channels":0},"channels":{}}]"#,
                           "interval \(test.interval), now \(test.now)")
        }
    }

    func testChannelCountersKeepFirstUseOrder() {
        let metrics = MetricsRecorder(interval: 10, keep: 3, channelLimit: 10)
        metrics.record(.subscribed, channel: "/z", now: 0)
        metrics.record(.published, channel: "/a", now: 1)
        metrics.record(.published, channel: "/z", now: 2)
        metrics.record(.subscribed, channel: "/z", now: 3)
        XCTAssertEqual(json(metrics, now: 4),
                       #"[{"time":0,"global":{"subscribed":2,"published":2,"active_channels":2},"channels":{"/z":{"subscribed":2,"published":1},"/a":{"published":1}}}]"#)
    }
}
