import Foundation
import XCTest
import FirehoseCore
@testable import FirehoseServer

/// The pure pieces of the Server-Sent Events transport (Transports/SSE/SSEFormats.swift): event
/// framing of any body, and the multiplexed position carried in `id:`.
final class SSEFormatsTests: XCTestCase {
    private func event(_ body: [UInt8], sequence: Int = 7) -> String {
        String(decoding: Message(channel: "/c", sequence: sequence, body: body).encoded(as: SSEFormats.event).bytes, as: UTF8.self)
    }

    func testEventFraming() {
        let cases: [(name: String, body: String, event: String)] = [
            ("one line", "hello", "id: 7\ndata: hello\n\n"),
            ("empty body: one empty data line, still dispatched", "", "id: 7\ndata: \n\n"),
            ("LF", "a\nb", "id: 7\ndata: a\ndata: b\n\n"),
            ("CR LF is one break", "a\r\nb", "id: 7\ndata: a\ndata: b\n\n"),
            ("lone CR", "a\rb", "id: 7\ndata: a\ndata: b\n\n"),
            ("CR CR is two breaks", "a\r\rb", "id: 7\ndata: a\ndata: \ndata: b\n\n"),
            ("LF CR is two breaks", "a\n\rb", "id: 7\ndata: a\ndata: \ndata: b\n\n"),
            ("trailing LF", "a\n", "id: 7\ndata: a\ndata: \n\n"),
            ("trailing CR LF", "a\r\n", "id: 7\ndata: a\ndata: \n\n"),
            ("trailing CR", "a\r", "id: 7\ndata: a\ndata: \n\n"),
            ("only a break", "\n", "id: 7\ndata: \ndata: \n\n"),
            ("leading space kept after the one the parser strips", " x", "id: 7\ndata:  x\n\n"),
            ("leading spaces on every line", " a\n  b", "id: 7\ndata:  a\ndata:   b\n\n"),
            ("colons and field names in the body are data", "id: 9\nretry: 1\n: c", "id: 7\ndata: id: 9\ndata: retry: 1\ndata: : c\n\n"),
            ("JSON", #"{"a":[1,2]}"#, "id: 7\ndata: {\"a\":[1,2]}\n\n"),
            ("UTF-8", "café ☃", "id: 7\ndata: café ☃\n\n"),
        ]
        for test in cases {
            XCTAssertEqual(event(Array(test.body.utf8)), test.event, test.name)
            // What an EventSource hands the page: the body with each line break as LF.
            let normalized = test.body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            XCTAssertEqual(Self.dispatchedData(test.event), normalized, "\(test.name): round trip")
        }
    }

    func testIDIsTheSequence() {
        for sequence in [1, 9, 10, 123_456_789, Int.max] {
            XCTAssertTrue(event([], sequence: sequence).hasPrefix("id: \(sequence)\n"), "\(sequence)")
        }
    }

    func testEventIsEncodedOncePerMessage() {
        let message = Message(channel: "/c", sequence: 1, body: Array("x".utf8))
        XCTAssertTrue(message.encoded(as: SSEFormats.event) === message.encoded(as: SSEFormats.event))
    }

    func testFixedLines() {
        XCTAssertEqual(String(decoding: SSEFormats.heartbeat, as: UTF8.self), ": ping\n\n")
        XCTAssertEqual(String(decoding: SSEFormats.retry(milliseconds: 2500), as: UTF8.self), "retry: 2500\n\n")
    }

    func testPositionEncoding() {
        let cases: [(positions: [(channel: String, sequence: Int)], id: String)] = [
            ([], ""),
            ([("/a", 0)], "/a!0"),
            ([("/a", 7), ("/b", 3)], "/a!7,/b!3"),
            ([("/a/b", 12), ("/c", 1), ("/d", 99)], "/a/b!12,/c!1,/d!99"),
        ]
        for test in cases {
            let id = String(decoding: SSEPosition.encode(test.positions), as: UTF8.self)
            XCTAssertEqual(id, test.id)
            if !test.positions.isEmpty {
                XCTAssertEqual(SSEPosition.parse(id), Dictionary(uniqueKeysWithValues: test.positions.map { ($0.channel, $0.sequence) }),
                               "\(test.id): round trip")
            }
        }
    }

    func testPositionParsing() {
        let cases: [(id: String, positions: [String: Int])] = [
            ("/a!7,/b!3", ["/a": 7, "/b": 3]),
            ("/a!7,,/b!3,", ["/a": 7, "/b": 3]),
            ("/a", ["/a": 0]),
            ("/a!-4", ["/a": 0]),
            ("/a!x", ["/a": 0]),
            ("/a!5,/a!9", ["/a": 5]),
            ("", [:]),
            (",,", [:]),
            ("!3", [:]),
        ]
        for test in cases { XCTAssertEqual(SSEPosition.parse(test.id), test.positions, test.id.debugDescription) }
    }

    /// The data an EventSource dispatches for one event, per the HTML event-stream rules: lines end
    /// at CR LF, CR or LF; `data` fields are joined with LF, one leading space after the colon is
    /// dropped.
    private static func dispatchedData(_ stream: String) -> String? {
        var lines: [String] = []
        var current = ""
        var iterator = Array(stream.unicodeScalars).makeIterator()
        var pendingCR = false
        while let scalar = iterator.next() {
            if pendingCR {
                pendingCR = false
                if scalar == "\n" { continue }
            }
            if scalar == "\r" || scalar == "\n" {
                lines.append(current)
                current = ""
                pendingCR = scalar == "\r"
            } else {
                current.unicodeScalars.append(scalar)
            }
        }
        var data: [String] = []
        for line in lines {
            if line.isEmpty { return data.joined(separator: "\n") }
            guard let colon = line.firstIndex(of: ":") else { continue }
            var value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
            if line[..<colon] == "data" { data.append(String(value)) }
        }
        return nil
    }
}
