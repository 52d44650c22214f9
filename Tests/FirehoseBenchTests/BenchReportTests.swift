import XCTest
@testable import FirehoseBench

final class BenchReportTests: XCTestCase {
    func testJSONLineKeepsOrderAndEscapes() {
        var report = BenchReport()
        report.set("mode", "fanout")
        report.set("lost", 0)
        report.set("rate", 19.98765)
        report.set("ok", true)
        report.set("latency_ms", .object([("p50", .double(1.5)), ("max", .double(2))]))
        report.set("note", "a \"quoted\"\nline")
        report.set("lost", 3)
        XCTAssertEqual(report.json, #"{"mode":"fanout","lost":3,"rate":19.988,"ok":true,"latency_ms":{"p50":1.5,"max":2},"note":"a \"quoted\"\nline"}"#)
        XCTAssertTrue(report.text.contains("lost        3"))
    }

    func testTargetParsesURLs() throws {
        let target = try BenchTarget(url: "http://localhost:8080/", proto: .nchan)
        XCTAssertEqual(target.port, 8080)
        XCTAssertEqual(target.basePath, "")
        let request = String(decoding: target.publishRequest(channel: 2, body: Array("abc".utf8)), as: UTF8.self)
        XCTAssertTrue(request.hasPrefix("POST /pub/\(target.channelName(2)) HTTP/1.1\r\nHost: localhost:8080\r\nContent-Length: 3\r\n\r\nabc"), request)
        XCTAssertThrowsError(try BenchTarget(url: "https://x", proto: .firehose))
        XCTAssertThrowsError(try BenchTarget(url: "http://example.com:80", proto: .firehose))
        var point = ResumePoint()
        point.lastModified = "Mon, 23 Nov 2026 10:00:00 GMT"
        point.etag = "1"
        let poll = String(decoding: target.longPollRequest(channel: 0, from: point), as: UTF8.self)
        XCTAssertTrue(poll.contains("If-Modified-Since: Mon, 23 Nov 2026 10:00:00 GMT\r\nIf-None-Match: 1\r\n"), poll)
    }
}
