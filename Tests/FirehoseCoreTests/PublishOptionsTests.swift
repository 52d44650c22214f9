import XCTest
import FirehoseCore

/// Publish option headers as the reference reads them (spec/http.md PUB-6 to PUB-10).
final class PublishOptionsTests: XCTestCase {
    private func options(_ headers: [String: String]) -> PublishOptions {
        PublishOptions(header: { headers[$0] }, defaultBufferSize: 100, bufferSizeLimit: 1000)
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
        XCTAssertEqual(options(["x-firehose-buffer-size": "999999"]).bufferSize, 1000, "capped at the server's limit")
        XCTAssertTrue(options(["x-firehose-persist": "true"]).persist)
        XCTAssertFalse(options(["x-firehose-persist": "TRUE"]).persist, "exact lowercase only")
        XCTAssertFalse(options(["x-firehose-persist": "yes"]).persist)
        XCTAssertTrue(options(["x-firehose-deprecated": "true"]).deprecated)
    }
}
