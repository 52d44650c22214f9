import XCTest
import FirehoseCore

/// The replay rule as a table, with the reference's observed answers (spec/http.md LP-1 to LP-5, and EXT-13 for a client ahead of the channel).
final class ReplayWindowTests: XCTestCase {
    struct Row {
        let last: Int, channel: Int, buffered: Int
        let expected: ClosedRange<Int>?
        let why: String
    }

    func testTable() {
        let rows: [Row] = [
            // /hello: sequence 5, all five buffered.
            Row(last: 0, channel: 5, buffered: 5, expected: 5...5, why: "0 means the latest"),
            Row(last: 1, channel: 5, buffered: 5, expected: 2...5, why: "behind: the missed ones, long-poll takes the first"),
            Row(last: 4, channel: 5, buffered: 5, expected: 5...5, why: "one behind"),
            Row(last: 5, channel: 5, buffered: 5, expected: nil, why: "level: wait"),
            Row(last: 6, channel: 5, buffered: 5, expected: 1...5, why: "ahead: a reset, the whole new generation (EXT-13)"),
            Row(last: 100, channel: 5, buffered: 5, expected: 1...5, why: "far ahead: the whole new generation"),
            Row(last: Int.max, channel: 5, buffered: 5, expected: 1...5, why: "saturated sequence: ahead, no overflow"),
            Row(last: 3, channel: 2, buffered: 2, expected: 1...2, why: "m1..m3 then a restart and n1, n2: n1 first"),
            Row(last: 12, channel: 10, buffered: 3, expected: 8...10, why: "ahead with a short buffer: the oldest buffered first"),
            Row(last: 6, channel: 5, buffered: 0, expected: nil, why: "ahead, nothing buffered: wait for the next"),
            Row(last: -1, channel: 5, buffered: 5, expected: 5...5, why: "negative counts as 0 (WebSocket)"),
            // /uw: sequence 10, buffer of 3 (8, 9, 10).
            Row(last: 0, channel: 10, buffered: 3, expected: 10...10, why: "latest"),
            Row(last: 1, channel: 10, buffered: 3, expected: 10...10, why: "underwater: latest"),
            Row(last: 6, channel: 10, buffered: 3, expected: 10...10, why: "4 behind > 3 buffered: latest"),
            Row(last: 7, channel: 10, buffered: 3, expected: 8...10, why: "exactly the buffer: the oldest buffered first"),
            Row(last: 8, channel: 10, buffered: 3, expected: 9...10, why: "two behind"),
            Row(last: 9, channel: 10, buffered: 3, expected: 10...10, why: "one behind"),
            // Empty and unbuffered channels.
            Row(last: 0, channel: 0, buffered: 0, expected: nil, why: "never published: wait"),
            Row(last: 0, channel: 5, buffered: 0, expected: nil, why: "buffer size 0: nothing to give even at 0"),
            Row(last: 3, channel: 5, buffered: 0, expected: nil, why: "buffer size 0 and behind: nothing to give"),
            Row(last: 3, channel: 0, buffered: 0, expected: nil, why: "expired channel restarted: wait for the next"),
            Row(last: Int.max, channel: Int.max, buffered: 3, expected: nil, why: "level at the top of the range"),
            Row(last: 1, channel: Int.max, buffered: 3, expected: Int.max...Int.max, why: "underwater at the top: no overflow"),
            Row(last: Int.max - 2, channel: Int.max, buffered: 3, expected: (Int.max - 1)...Int.max, why: "behind at the top"),
            Row(last: Int.min, channel: 5, buffered: 5, expected: 5...5, why: "Int.min counts as 0"),
        ]
        for row in rows {
            XCTAssertEqual(ReplayWindow.missed(lastSequence: row.last, channelSequence: row.channel, buffered: row.buffered),
                           row.expected, "last=\(row.last) channel=\(row.channel) buffered=\(row.buffered): \(row.why)")
        }
    }
}
