import XCTest
import FirehoseCore

/// `ResponseHead` (ResponseHead.swift): response heads framed byte for byte as Thin frames them.
final class ResponseHeadTests: XCTestCase {
    func testResponseHeadMatchesThin() {
        let head = ResponseHead(status: .accepted, contentLength: 0, headers: [("Content-Type", "text/plain")], keepAlive: true)
        XCTAssertEqual(String(decoding: head.encoded(), as: UTF8.self),
                       "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n")
        let close = ResponseHead(status: .noContent, contentLength: 0, keepAlive: false)
        XCTAssertEqual(String(decoding: close.encoded(), as: UTF8.self),
                       "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\nServer: thin\r\n\r\n")
    }

    func testHeadTable() {
        let cases: [(name: String, head: ResponseHead, encoded: String)] = [
            ("a length and headers in the handler's order",
             ResponseHead(status: .ok, contentLength: 37, headers: [("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")], keepAlive: true),
             "HTTP/1.1 200 OK\r\nContent-Length: 37\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"),
            ("streamed: no Content-Length line",
             ResponseHead(status: .ok, contentLength: nil, headers: [("Content-Type", "text/event-stream")], keepAlive: false),
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\nServer: thin\r\n\r\n"),
            ("streamed, nothing else",
             ResponseHead(status: .ok, contentLength: nil, keepAlive: true),
             "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"),
            ("a large length", ResponseHead(status: .ok, contentLength: 1_112_067, keepAlive: true),
             "HTTP/1.1 200 OK\r\nContent-Length: 1112067\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"),
            ("a repeated header is sent twice",
             ResponseHead(status: .ok, contentLength: 0, headers: [("Vary", "Origin"), ("Vary", "Accept")], keepAlive: true),
             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVary: Origin\r\nVary: Accept\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n"),
        ]
        for test in cases { XCTAssertEqual(String(decoding: test.head.encoded(), as: UTF8.self), test.encoded, test.name) }
    }

    func testStatusLines() {
        let cases: [(status: HTTPStatus, line: String)] = [
            (.ok, "200 OK"),
            (.accepted, "202 Accepted"),
            (.noContent, "204 No Content"),
            (.notModified, "304 Not Modified"),
            (.badRequest, "400 Bad Request"),
            (.unauthorized, "401 Unauthorized"),
            (.forbidden, "403 Forbidden"),
            (.notFound, "404 Not Found"),
            (.methodNotAllowed, "405 Method Not Allowed"),
            (.payloadTooLarge, "413 Request Entity Too Large"),
            (.headersTooLarge, "431 Request Header Fields Too Large"),
            (.serviceUnavailable, "503 Service Unavailable"),
        ]
        for test in cases {
            let encoded = String(decoding: ResponseHead(status: test.status, contentLength: 0, keepAlive: true).encoded(), as: UTF8.self)
            XCTAssertTrue(encoded.hasPrefix("HTTP/1.1 \(test.line)\r\n"), encoded)
        }
    }
}
