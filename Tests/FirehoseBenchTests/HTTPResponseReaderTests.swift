import XCTest
@testable import FirehoseBench

final class HTTPResponseReaderTests: XCTestCase {
    private func feed(_ reader: inout HTTPResponseReader, _ text: String) {
        Array(text.utf8).withUnsafeBytes { reader.append($0) }
    }

    func testContentLengthBodyArrivingInPieces() throws {
        var reader = HTTPResponseReader()
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 37\r\nConnection: keep-alive\r\nServer: thin\r\n\r\n{\"message\":\"msg-5\",\"last_sequence\":5}"
        for byte in response.utf8.dropLast() {
            [byte].withUnsafeBytes { reader.append($0) }
            XCTAssertNil(try reader.next())
        }
        feed(&reader, "}")
        let parsed = try XCTUnwrap(reader.next())
        XCTAssertEqual(parsed.status, 200)
        XCTAssertTrue(parsed.keepAlive)
        XCTAssertEqual(String(decoding: parsed.body, as: UTF8.self), "{\"message\":\"msg-5\",\"last_sequence\":5}")
        XCTAssertTrue(reader.inbox.isEmpty)
    }

    func testPipelinedResponsesAndBodylessStatuses() throws {
        var reader = HTTPResponseReader()
        feed(&reader, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n"
            + "HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nokHTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx")
        XCTAssertEqual(try reader.next()?.status, 204)
        XCTAssertEqual(try reader.next()?.status, 304)
        let accepted = try XCTUnwrap(reader.next())
        XCTAssertEqual(accepted.body, Array("ok".utf8))
        let old = try XCTUnwrap(reader.next())
        XCTAssertFalse(old.keepAlive, "HTTP/1.0 closes by default")
        XCTAssertNil(try reader.next())
    }

    func testChunkedBodyAndNchanResumeHeaders() throws {
        var reader = HTTPResponseReader()
        feed(&reader, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLast-Modified: Mon, 23 Nov 2026 10:00:00 GMT\r\nEtag: 0\r\n"
            + "Connection: close\r\n\r\n4\r\nt=1 \r\n3;ext=1\r\nc=1\r\n0\r\n")
        XCTAssertNil(try reader.next(), "the last chunk's CRLF is still missing")
        feed(&reader, "\r\n")
        let response = try XCTUnwrap(reader.next())
        XCTAssertEqual(response.body, Array("t=1 c=1".utf8))
        XCTAssertEqual(response.lastModified, "Mon, 23 Nov 2026 10:00:00 GMT")
        XCTAssertEqual(response.etag, "0")
        XCTAssertFalse(response.keepAlive)
    }

    func testConnectionAndTransferEncodingTokensIgnoreCase() throws {
        var reader = HTTPResponseReader()
        feed(&reader, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx"
            + "HTTP/1.1 200 OK\r\nConnection: CLOSE\r\nContent-Length: 1\r\n\r\ny"
            + "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nConnection: clos\r\nContent-Length: 0\r\n\r\n")
        XCTAssertTrue(try XCTUnwrap(reader.next()).keepAlive, "HTTP/1.0 with Keep-Alive")
        XCTAssertFalse(try XCTUnwrap(reader.next()).keepAlive, "Connection: CLOSE")
        XCTAssertEqual(try XCTUnwrap(reader.next()).body, Array("z".utf8), "chunked, named in another case after another coding")
        XCTAssertTrue(try XCTUnwrap(reader.next()).keepAlive, "a token that is not close")
    }

    func testMalformedResponsesAreErrors() {
        for text in ["NOT HTTP\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n"] {
            var reader = HTTPResponseReader()
            feed(&reader, text)
            XCTAssertThrowsError(try reader.next(), text)
        }
    }

    func testSwitchingProtocolsLeavesTheFramesInTheInbox() throws {
        var reader = HTTPResponseReader()
        feed(&reader, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
        ([0x81, 0x02, 0x68, 0x69] as [UInt8]).withUnsafeBytes { reader.append($0) }
        XCTAssertEqual(try reader.next()?.status, 101)
        XCTAssertEqual(reader.inbox.count, 4)
    }
}
