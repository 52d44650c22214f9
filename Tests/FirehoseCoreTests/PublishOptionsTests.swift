import XCTest
import FirehoseCore

/// Publish option headers as the reference reads them (spec/http.md PUB-6 to PUB-10).
final class PublishOptionsTests: XCTestCase {
    private func options(_ headers: [String: String]) -> PublishOptions {
        PublishOptions(header: { headers[$0] }, defaultBufferSize: 100)
    }

    func testCacheControlTable() {
        let rows: [(String?, Int)] = [
            (nil, 86_400),
            ("max-age=5", 5),
            ("no-cache, Max-Age=7", 7),
            ("max-age=60, max-age=10", 10),
            ("max-age = 10", 86_400),
            ("5", 86_400),
            ("max-age=0", 0),
            ("max-age=abc", 0),
            ("max-age=-5", -5),
            ("public,max-age=30", 30),
        ]
        for (header, ttl) in rows {
            let headers = header.map { ["cache-control": $0] } ?? [:]
            XCTAssertEqual(options(headers).ttl, ttl, "Cache-Control: \(header ?? "(none)")")
        }
    }

    func testBufferSizePersistDeprecated() {
        XCTAssertEqual(options([:]).bufferSize, 100)
        XCTAssertEqual(options(["x-firehose-buffer-size": "2"]).bufferSize, 2)
        XCTAssertEqual(options(["x-firehose-buffer-size": "abc"]).bufferSize, 0)
        XCTAssertEqual(options(["x-firehose-buffer-size": "-3"]).bufferSize, -3)
        XCTAssertEqual(options(["x-firehose-buffer-size": "999999"]).bufferSize, 999_999, "read as given; outOfRange refuses it")
        XCTAssertTrue(options(["x-firehose-persist": "true"]).persist)
        XCTAssertFalse(options(["x-firehose-persist": "TRUE"]).persist, "exact lowercase only")
        XCTAssertFalse(options(["x-firehose-persist": "yes"]).persist)
        XCTAssertTrue(options(["x-firehose-deprecated": "true"]).deprecated)
    }

    /// EXT-14: what the server refuses (400) before storing anything, and what it accepts.
    func testOutOfRange() {
        let rows: [([String: String], Bool, String)] = [
            ([:], true, "defaults"),
            (["cache-control": "max-age=2147483647"], true, "the longest lifetime"),
            (["cache-control": "max-age=2147483648"], false, "one second too long: Redis EXPIRE would fail mid-script"),
            (["cache-control": "max-age=99999999999999999999999"], false, "saturated"),
            (["cache-control": "max-age=99999999999999999999999", "x-firehose-persist": "true"], true, "persist ignores max-age"),
            (["cache-control": "max-age=-99999999999999999999999"], true, "negative: delete at once (PUB-7)"),
            (["x-firehose-buffer-size": "1000"], true, "at the limit"),
            (["x-firehose-buffer-size": "1001"], false, "over the limit"),
            (["x-firehose-buffer-size": "99999999999999999999999"], false, "saturated"),
            (["x-firehose-buffer-size": "-99999999999999999999999"], true, "negative: empties the buffer (PUB-9)"),
        ]
        for (headers, accepted, why) in rows {
            let reason = options(headers).outOfRange(bufferSizeLimit: 1000)
            XCTAssertEqual(reason == nil, accepted, "\(headers): \(why) (\(reason ?? "accepted"))")
        }
        XCTAssertEqual(options(["x-firehose-buffer-size": "1001"]).outOfRange(bufferSizeLimit: 1000),
                       "X-Firehose-Buffer-Size 1001 is out of range (at most 1000 on this server); nothing was published.")
    }
}
