import XCTest
@testable import FirehoseServer

/// `HTTPRequestParser` (HTTP/HTTPRequestParser.swift) through the real http-parser. Each request
/// is fed whole, one byte at a time, and split in two at every offset, the way the connection
/// feeds it (see `Feeder`): the result must not depend on how the bytes arrive.
final class HTTPRequestParserTests: XCTestCase {
    /// Small limits so the edges are cheap to reach.
    private static let maxHeaderBytes = 64
    private static let maxBodyBytes = 16

    /// What one request turns into.
    private struct Parsed: Equatable, CustomStringConvertible {
        var method: String
        var target: String
        var version: String
        var keepAlive: Bool
        var isUpgrade = false
        var body = ""
        var headers: [String] = []

        init(_ method: String, _ target: String, version: String = "1.1", keepAlive: Bool = true, isUpgrade: Bool = false,
             body: String = "", headers: [String] = []) {
            self.method = method
            self.target = target
            self.version = version
            self.keepAlive = keepAlive
            self.isUpgrade = isUpgrade
            self.body = body
            self.headers = headers
        }

        init(_ request: HTTPRequest) {
            method = request.method
            target = String(decoding: request.target, as: UTF8.self)
            version = "\(request.versionMajor).\(request.versionMinor)"
            keepAlive = request.keepAlive
            isUpgrade = request.isUpgrade
            body = String(decoding: request.body, as: UTF8.self)
            headers = request.headers.map { "\($0.0.lowercasedName): \($0.1)" }
        }

        var description: String { "\(method) \(target) HTTP/\(version) keepAlive=\(keepAlive) upgrade=\(isUpgrade) headers=\(headers) body=\(body.debugDescription)" }
    }

    /// Feeds bytes as `HTTPConnection.processInput` does: drains what the parser consumed, keeps
    /// what it did not (a method token cut short), takes each complete request, stops at a failure.
    private final class Feeder {
        let parser = HTTPRequestParser(maxHeaderBytes: HTTPRequestParserTests.maxHeaderBytes, maxBodyBytes: HTTPRequestParserTests.maxBodyBytes)
        var pending: [UInt8] = []
        var requests: [Parsed] = []
        var failure: HTTPStatusCode?
        /// Bytes left after an upgrade request: no longer HTTP, the connection hands them on.
        var afterUpgrade: [UInt8]?

        func push(_ bytes: some Sequence<UInt8>) {
            guard failure == nil else { return }
            if afterUpgrade != nil {
                afterUpgrade! += bytes
                return
            }
            pending += bytes
            while !pending.isEmpty {
                let outcome = pending.withUnsafeBytes { parser.execute($0) }
                switch outcome {
                case let .needMore(consumed):
                    pending.removeFirst(consumed)
                    if consumed == 0 { return }
                case let .complete(consumed):
                    pending.removeFirst(consumed)
                    let request = parser.takeRequest()
                    requests.append(Parsed(request))
                    if request.isUpgrade {
                        afterUpgrade = pending
                        pending = []
                        return
                    }
                case let .failed(status, _):
                    failure = status
                    return
                }
            }
        }
    }

    private struct Case {
        let name: String
        let bytes: [UInt8]
        let requests: [Parsed]
        var failure: HTTPStatusCode? = nil
        var afterUpgrade: [UInt8]? = nil

        init(_ name: String, _ text: String, _ requests: [Parsed], failure: HTTPStatusCode? = nil, afterUpgrade: [UInt8]? = nil) {
            self.name = name
            self.bytes = Array(text.utf8) + (afterUpgrade ?? [])
            self.requests = requests
            self.failure = failure
            self.afterUpgrade = afterUpgrade
        }
    }

    private static let cases: [Case] = [
        Case("GET with a query", "GET /a/b?last_message_sequence=3 HTTP/1.1\r\n\r\n",
             [Parsed("GET", "/a/b?last_message_sequence=3")]),
        Case("PUT with a body", "PUT /c HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
             [Parsed("PUT", "/c", body: "hello", headers: ["content-length: 5"])]),
        Case("unknown method token is kept", "FOO /c HTTP/1.1\r\n\r\n", [Parsed("FOO", "/c")]),
        Case("lowercase token is an unknown method", "get /c HTTP/1.1\r\n\r\n", [Parsed("get", "/c")]),
        Case("unknown method with a body", "BREW /pot HTTP/1.1\r\nContent-Length: 3\r\n\r\ntea",
             [Parsed("BREW", "/pot", body: "tea", headers: ["content-length: 3"])]),
        Case("chunked body is de-chunked", "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
             [Parsed("PUT", "/c", body: "abcdefg")]),
        Case("chunked body at the limit", "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
             [Parsed("PUT", "/c", body: "1234567812345678")]),
        Case("two pipelined requests, in order", "PUT /p HTTP/1.1\r\nContent-Length: 3\r\n\r\noneGET /p HTTP/1.1\r\n\r\n",
             [Parsed("PUT", "/p", body: "one", headers: ["content-length: 3"]), Parsed("GET", "/p")]),
        Case("pipelined unknown method after a known one", "GET /a HTTP/1.1\r\n\r\nFOO /b HTTP/1.1\r\n\r\n",
             [Parsed("GET", "/a"), Parsed("FOO", "/b")]),
        Case("HTTP/1.1 keeps alive by default", "GET /k HTTP/1.1\r\n\r\n", [Parsed("GET", "/k")]),
        Case("HTTP/1.1 with Connection: close", "GET /k HTTP/1.1\r\nConnection: close\r\n\r\n",
             [Parsed("GET", "/k", keepAlive: false, headers: ["connection: close"])]),
        Case("HTTP/1.0 closes by default", "GET /k HTTP/1.0\r\n\r\n", [Parsed("GET", "/k", version: "1.0", keepAlive: false)]),
        Case("HTTP/1.0 with Connection: keep-alive", "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
             [Parsed("GET", "/k", version: "1.0", headers: ["connection: keep-alive"])]),
        Case("HTTP/1.0 PUT with a length keeps alive when asked", "PUT /k HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
             [Parsed("PUT", "/k", version: "1.0", body: "ok", headers: ["connection: Keep-Alive", "content-length: 2"])]),
        Case("header names are matched without case; unread headers are dropped",
             "GET /h HTTP/1.1\r\nX-FIREHOSE-BUFFER-SIZE: 2\r\nX-Other: y\r\norigin: o\r\n\r\n",
             [Parsed("GET", "/h", headers: ["x-firehose-buffer-size: 2", "origin: o"])]),
        Case("upgrade ends at the head; what follows is not parsed",
             "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
             [Parsed("GET", "/ws", isUpgrade: true, headers: ["upgrade: websocket", "connection: Upgrade"])],
             afterUpgrade: [0x81, 0x82, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]),
        Case("body over the limit is refused at the head", "PUT /c HTTP/1.1\r\nContent-Length: 17\r\n\r\n", [], failure: .payloadTooLarge),
        Case("chunked body over the limit", "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n9\r\n123456789\r\n0\r\n\r\n",
             [], failure: .payloadTooLarge),
        Case("headers over the limit (4 + 61 bytes)", "GET / HTTP/1.1\r\nX-A: \(String(repeating: "a", count: 61))\r\n\r\n", [], failure: .headersTooLarge),
        Case("target over the limit", "GET /\(String(repeating: "t", count: 64)) HTTP/1.1\r\n\r\n", [], failure: .headersTooLarge),
        Case("not HTTP", "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}", [], failure: .badRequest),
        Case("a good request, then garbage", "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/9.x\r\n\r\n", [Parsed("GET", "/a")], failure: .badRequest),
        Case("a method token too long to be one", "\(String(repeating: "X", count: 40)) / HTTP/1.1\r\n\r\n", [], failure: .badRequest),
    ]

    private func check(_ test: Case, chunks: [ArraySlice<UInt8>], how: String, file: StaticString = #filePath, line: UInt = #line) {
        let feeder = Feeder()
        for chunk in chunks { feeder.push(chunk) }
        let label = "\(test.name) (\(how))"
        XCTAssertEqual(feeder.requests, test.requests, label, file: file, line: line)
        XCTAssertEqual(feeder.failure, test.failure, label, file: file, line: line)
        XCTAssertEqual(feeder.afterUpgrade, test.afterUpgrade, label, file: file, line: line)
        if test.failure == nil, test.afterUpgrade == nil {
            XCTAssertEqual(feeder.pending, [], "\(label): every byte consumed", file: file, line: line)
            XCTAssertTrue(feeder.parser.atMessageStart, "\(label): ready for the next request", file: file, line: line)
        }
    }

    func testWholeRequests() {
        for test in Self.cases { check(test, chunks: [test.bytes[...]], how: "whole") }
    }

    func testOneByteAtATime() {
        for test in Self.cases { check(test, chunks: test.bytes.indices.map { test.bytes[$0...$0] }, how: "byte by byte") }
    }

    func testSplitInTwoAtEveryOffset() {
        for test in Self.cases {
            for split in 1..<test.bytes.count {
                check(test, chunks: [test.bytes[..<split], test.bytes[split...]], how: "split at \(split)")
            }
        }
    }

    func testAnUnknownMethodCutShortConsumesNothingUntilItsSpace() {
        let parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
        let steps: [(input: String, outcome: String)] = [
            ("F", "needMore(0)"),
            ("FO", "needMore(0)"),
            ("FOO", "needMore(0)"),
            ("FOO /x HTTP/1.1\r\n", "needMore(17)"),
        ]
        for step in steps {
            XCTAssertEqual(describe(Array(step.input.utf8).withUnsafeBytes { parser.execute($0) }), step.outcome, step.input.debugDescription)
        }
        XCTAssertEqual(describe(Array("\r\n".utf8).withUnsafeBytes { parser.execute($0) }), "complete(2)")
        XCTAssertEqual(parser.takeRequest().method, "FOO")
        XCTAssertEqual(describe([UInt8]().withUnsafeBytes { parser.execute($0) }), "needMore(0)", "no bytes, nothing to do")
    }

    func testOverLimitBodyIsRefusedBeforeItArrives() {
        // The Content-Length alone decides: the parser refuses at the head and reads none of the body.
        let parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 10)
        let head = Array("PUT /big HTTP/1.1\r\nContent-Length: 11\r\n\r\n".utf8)
        guard case let .failed(status, reason) = (head + Array("x".utf8)).withUnsafeBytes({ parser.execute($0) }) else {
            return XCTFail("not refused")
        }
        XCTAssertEqual(status, .payloadTooLarge)
        XCTAssertEqual(reason, "request body larger than 10 bytes")
    }

    func testHeaderLimitReason() {
        let parser = HTTPRequestParser(maxHeaderBytes: 32, maxBodyBytes: 10)
        let request = Array("GET / HTTP/1.1\r\nX-Long: \(String(repeating: "v", count: 40))\r\n\r\n".utf8)
        guard case let .failed(status, reason) = request.withUnsafeBytes({ parser.execute($0) }) else { return XCTFail("not refused") }
        XCTAssertEqual(status, .headersTooLarge)
        XCTAssertEqual(reason, "request head larger than 32 bytes")
    }

    func testTheDelegateMayRefuseAtTheHead() {
        let request = Array("PUT /d HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody".utf8)
        let cases: [(name: String, verdict: HeadersVerdict, outcome: String)] = [
            ("proceed", .proceed, "complete(\(request.count))"),
            ("reject 400", .reject(.badRequest), "failed(badRequest)"),
            ("reject 413", .reject(.payloadTooLarge), "failed(payloadTooLarge)"),
        ]
        for test in cases {
            let parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 1024)
            let delegate = VerdictDelegate(test.verdict)
            parser.delegate = delegate
            XCTAssertEqual(describe(request.withUnsafeBytes { parser.execute($0) }), test.outcome, test.name)
            XCTAssertEqual(delegate.seen, ["PUT /d"], "\(test.name): asked once, with the head, before the body")
        }
    }

    func testTakeRequestResetsForTheNextOne() {
        // A request with an unknown method and headers, then a plain one: nothing carries over.
        let feeder = Feeder()
        feeder.push(Array("FOO /a HTTP/1.1\r\nOrigin: x\r\nContent-Length: 1\r\n\r\nzGET /b HTTP/1.1\r\n\r\n".utf8))
        XCTAssertEqual(feeder.requests, [Parsed("FOO", "/a", body: "z", headers: ["origin: x", "content-length: 1"]), Parsed("GET", "/b")])
    }

    private func describe(_ outcome: HTTPRequestParser.Outcome) -> String {
        switch outcome {
        case let .needMore(consumed): "needMore(\(consumed))"
        case let .complete(consumed): "complete(\(consumed))"
        case let .failed(status, _): "failed(\(status))"
        }
    }
}

private final class VerdictDelegate: HTTPRequestParserDelegate {
    let verdict: HeadersVerdict
    var seen: [String] = []
    init(_ verdict: HeadersVerdict) { self.verdict = verdict }

    func requestHeadersComplete(_ request: HTTPRequest) -> HeadersVerdict {
        seen.append("\(request.method) \(String(decoding: request.target, as: UTF8.self))")
        return verdict
    }
}
