import XCTest
@testable import FirehoseBench

final class EventStreamReaderTests: XCTestCase {
    private static let chunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        + "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    private static let plainHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"

    /// A chunked body with one chunk per piece.
    private static func chunks(_ pieces: [String]) -> String {
        pieces.map { String($0.utf8.count, radix: 16) + "\r\n" + $0 + "\r\n" }.joined()
    }

    private static func event(_ id: String, _ data: String) -> EventStreamItem {
        .event(ServerSentEvent(id: id, data: Array(data.utf8)))
    }

    /// Every item `bytes` yields, fed in pieces of `step` bytes (0: all at once).
    private func items(_ bytes: String, step: Int = 0) throws -> [EventStreamItem] {
        var reader = EventStreamReader()
        var found: [EventStreamItem] = []
        let all = Array(bytes.utf8)
        let size = step == 0 ? max(all.count, 1) : step
        for start in stride(from: 0, to: all.count, by: size) {
            all[start..<min(start + size, all.count)].withUnsafeBytes { reader.append($0) }
            while let item = try reader.next() { found.append(item) }
        }
        return found
    }

    func testStreamsAsTheyArriveInAnyPieces() throws {
        let table: [(name: String, bytes: String, expected: [EventStreamItem])] = [
            ("retry then one event", Self.chunkedHead + Self.chunks(["retry: 2000\n\n", "id: 8\ndata: m8\n\n"]),
             [.opened, .retry(2000), Self.event("8", "m8")]),
            ("several events in one chunk", Self.chunkedHead + Self.chunks(["id: 1\ndata: a\n\nid: 2\ndata: b\n\n"]),
             [.opened, Self.event("1", "a"), Self.event("2", "b")]),
            ("one event over several chunks", Self.chunkedHead + Self.chunks(["id: 3\nda", "ta: x", "yz\n", "\n"]),
             [.opened, Self.event("3", "xyz")]),
            ("multi-line data joined with LF", Self.chunkedHead + Self.chunks(["id: 4\ndata: a\ndata: \ndata: b\n\n"]),
             [.opened, Self.event("4", "a\n\nb")]),
            ("empty body", Self.chunkedHead + Self.chunks(["id: 5\ndata: \n\n"]), [.opened, Self.event("5", "")]),
            ("CRLF and CR line ends", Self.chunkedHead + Self.chunks(["id: 6\r\ndata: a\rdata: b\r\n\r", "id: 7\rdata: c\r\r\n"]),
             [.opened, Self.event("6", "a\nb"), Self.event("7", "c")]),
            ("heartbeat comments", Self.chunkedHead + Self.chunks([": ping\n\n", "id: 1\ndata: p\n\n: ping\n\n"]),
             [.opened, .comment, Self.event("1", "p"), .comment]),
            ("id persists, a block without data is no event", Self.chunkedHead + Self.chunks(["id: 9\n\ndata: next\n\n"]),
             [.opened, Self.event("9", "next")]),
            ("no space after the colon, field without colon", Self.chunkedHead + Self.chunks(["id:10\ndata:raw\ndata\n\n"]),
             [.opened, Self.event("10", "raw\n")]),
            ("event and unknown fields ignored", Self.chunkedHead + Self.chunks(["event: x\nfoo: y\nid: 2\ndata: d\n\n"]),
             [.opened, Self.event("2", "d")]),
            ("bad retry ignored", Self.chunkedHead + Self.chunks(["retry: 2s\n\nretry: 15\n\n"]), [.opened, .retry(15)]),
            ("multiplexed id and JSON data", Self.chunkedHead
                + Self.chunks(["id: /a!7,/b!3\ndata: {\"channel\":\"/a\",\"message\":\"t=1 c=2 \",\"last_sequence\":7}\n\n"]),
             [.opened, Self.event("/a!7,/b!3", "{\"channel\":\"/a\",\"message\":\"t=1 c=2 \",\"last_sequence\":7}")]),
            ("chunk extensions and upper-case sizes", Self.chunkedHead + "E;x=1\r\nid: 1\ndata: z\n\r\n1\r\n\n\r\n",
             [.opened, Self.event("1", "z")]),
            ("nothing after the last chunk", Self.chunkedHead + Self.chunks(["id: 1\ndata: a\n\n"]) + "0\r\n\r\nid: 2\ndata: b\n\n",
             [.opened, Self.event("1", "a")]),
            ("HTTP/1.0 close-delimited", Self.plainHead + "retry: 2000\n\nid: 8\ndata: m8\n\n",
             [.opened, .retry(2000), Self.event("8", "m8")]),
            ("an event not yet ended by an empty line", Self.chunkedHead + Self.chunks(["id: 1\ndata: a\n"]), [.opened]),
        ]
        for row in table {
            for step in [0, 1, 2, 7] {
                XCTAssertEqual(try items(row.bytes, step: step), row.expected, "\(row.name), pieces of \(step)")
            }
        }
    }

    func testAnswersThatAreNotStreamsAreRefused() {
        let table: [(name: String, bytes: String, error: EventStreamError)] = [
            ("long-poll 200", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}", .notAStream(status: 200)),
            ("long-poll 204", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", .notAStream(status: 204)),
            ("405", "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/event-stream\r\n\r\n", .notAStream(status: 405)),
            ("bad status line", "HTTQ/1.1 200 OK\r\n\r\n", .malformed("bad status line")),
            ("bad chunk size", Self.chunkedHead + "zz\r\nid: 1\r\n", .malformed("bad chunk size")),
            ("chunk without CRLF", Self.chunkedHead + "3\r\nabcXY", .malformed("chunk not followed by CRLF")),
        ]
        for row in table {
            XCTAssertThrowsError(try items(row.bytes), row.name) { error in
                XCTAssertEqual(error as? EventStreamError, row.error, row.name)
            }
        }
    }

    func testResumePointsFollowEventIDs() {
        var firehose = ResumePoint()
        let target = try! BenchTarget(url: "http://127.0.0.1:7474", proto: .firehose)
        XCTAssertFalse(String(decoding: target.eventStreamRequest(channel: 0, from: firehose), as: UTF8.self).contains("Last-Event-ID"))
        target.advance(&firehose, afterEvent: ServerSentEvent(id: "42", data: []))
        XCTAssertEqual(firehose.sequence, 42)
        let request = String(decoding: target.eventStreamRequest(channel: 0, from: firehose), as: UTF8.self)
        XCTAssertTrue(request.hasPrefix("GET /bench/"), request)
        XCTAssertTrue(request.contains("\r\nAccept: text/event-stream\r\nLast-Event-ID: 42\r\n\r\n"), request)

        var nchan = ResumePoint()
        let other = try! BenchTarget(url: "http://127.0.0.1:8080", proto: .nchan)
        other.advance(&nchan, afterEvent: ServerSentEvent(id: "1700000000:0", data: []))
        XCTAssertTrue(String(decoding: other.eventStreamRequest(channel: 1, from: nchan), as: UTF8.self)
            .contains("GET /sub/b\(other.runID)c1 HTTP/1.1\r\n"))
        XCTAssertTrue(String(decoding: other.eventStreamRequest(channel: 1, from: nchan), as: UTF8.self)
            .contains("Last-Event-ID: 1700000000:0\r\n"))
    }
}
