internal import CHTTPParser

/// What the connection decides when a request's headers are complete, before its body arrives.
enum HeadersVerdict {
    case proceed
    /// Refuse the request now (its body will not be read) with this status.
    case reject(HTTPStatusCode)
}

enum HTTPStatusCode {
    case payloadTooLarge, headersTooLarge, badRequest
}

protocol HTTPRequestParserDelegate: AnyObject {
    func requestHeadersComplete(_ request: HTTPRequest) -> HeadersVerdict
}

/// Streams bytes through http-parser and assembles one `HTTPRequest` at a time, enforcing the
/// header and body size limits as the bytes arrive (nothing is buffered past a limit). The parser
/// pauses at the end of each message so the connection handles requests strictly one by one,
/// which is what makes pipelining ordered.
final class HTTPRequestParser {
    enum Outcome {
        /// `consumed` bytes were used (all of them, or none when the request line's first token is
        /// cut short); the request is not complete yet.
        case needMore(consumed: Int)
        /// A whole request is ready (`takeRequest()`); `consumed` bytes of the input belong to it.
        case complete(consumed: Int)
        /// The bytes are not HTTP, or a limit was passed; the connection answers and closes.
        case failed(HTTPStatusCode, reason: String)
    }

    private let parser: UnsafeMutablePointer<http_parser>
    private let maxHeaderBytes: Int
    private let maxBodyBytes: Int
    /// Not `weak`: the delegate (the connection) owns this parser and outlives it, and a weak
    /// reference gives the connection a side table, which sends every retain and release of it
    /// down the runtime's slow path (about 17 slow releases per long-poll round trip).
    unowned(unsafe) var delegate: HTTPRequestParserDelegate?

    private var request = HTTPRequest()
    private var headerBytes = 0
    private var fieldBuffer: [UInt8] = []
    private var valueBuffer: [UInt8] = []
    private var lastCallbackWasValue = false
    private var rejection: HTTPStatusCode?
    private var messageComplete = false
    /// A method token http-parser does not know (e.g. `FOO`): it parsed the request as GET, and the
    /// handlers must see the real name so they can answer 405 as the reference does.
    private var substitutedMethod: String?

    /// True between requests: the next byte starts a request line.
    private(set) var atMessageStart = true

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        parser = .allocate(capacity: 1)
        http_parser_init(parser, HTTP_REQUEST)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { parser.deallocate() }

    /// Feeds bytes; see `Outcome`. After `.complete`, call `takeRequest()` before feeding more.
    func execute(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count > 0 else { return .needMore(consumed: 0) }
        var offset = 0
        if atMessageStart {
            switch substituteUnknownMethod(bytes) {
            case .needMore: return .needMore(consumed: 0)
            case let .substituted(tokenLength): offset = tokenLength
            case .none: break
            }
            atMessageStart = false
        }
        let parsed = http_parser_execute(parser, HTTPRequestParser.settings, base + offset, bytes.count - offset)
        let consumed = offset + parsed
        if messageComplete {
            return .complete(consumed: consumed)
        }
        let errno = http_errno(rawValue: parser.pointee.http_errno)
        if errno != HPE_OK {
            if let rejection { return .failed(rejection, reason: describe(rejection)) }
            let reason = String(cString: http_errno_description(errno))
            return .failed(.badRequest, reason: reason)
        }
        if parser.pointee.upgrade != 0 {
            // An upgrade request ends at its headers; the connection decides what to do with it.
            return .complete(consumed: consumed)
        }
        return .needMore(consumed: consumed)
    }

    /// The completed request; the parser is then ready for the next one.
    func takeRequest() -> HTTPRequest {
        var done = HTTPRequest()
        swap(&done, &request)  // moved out: no retain and release of each of its fields
        if let substitutedMethod { done.method = substitutedMethod }
        headerBytes = 0
        messageComplete = false
        substitutedMethod = nil
        rejection = nil
        lastCallbackWasValue = false
        atMessageStart = true
        http_parser_pause(parser, 0)
        return done
    }

    private func describe(_ status: HTTPStatusCode) -> String {
        switch status {
        case .payloadTooLarge: "request body larger than \(maxBodyBytes) bytes"
        case .headersTooLarge: "request head larger than \(maxHeaderBytes) bytes"
        case .badRequest: "bad request"
        }
    }

    // MARK: unknown methods

    private enum Substitution { case none, needMore, substituted(Int) }

    /// http-parser refuses methods it does not know, but Firehose answers any method token with
    /// `405 <METHOD> not supported.`; so an unknown token is parsed as GET and remembered.
    private func substituteUnknownMethod(_ bytes: UnsafeRawBufferPointer) -> Substitution {
        var length = 0
        while length < bytes.count, length <= 32, isTokenCharacter(bytes[length]) { length += 1 }
        if length == bytes.count { return length <= 32 ? .needMore : .none }
        guard length > 0, length <= 32, bytes[length] == UInt8(ascii: " ") else { return .none }
        // The methods clients send, matched as bytes: a String and a Set lookup for every request
        // cost about 450 instructions of each publish (callgrind).
        if HTTPRequestParser.commonMethods.contains(where: { $0.count == length && $0.elementsEqual(bytes[0..<length]) }) { return .none }
        let token = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<length]), as: UTF8.self)
        guard !HTTPRequestParser.knownMethods.contains(token) else { return .none }
        _ = "GET".withCString { http_parser_execute(parser, HTTPRequestParser.settings, $0, 3) }
        substitutedMethod = token
        return .substituted(length)
    }

    private func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "!"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// http-parser's method names by its method number.
    private static let methodNames: [String] = {
        var names: [String] = []
        while true {
            let name = String(cString: http_method_str(http_method(rawValue: UInt32(names.count))))
            if name == "<unknown>" { break }
            names.append(name)
        }
        return names
    }()

    private static let knownMethods = Set(methodNames)
    private static let commonMethods: [[UInt8]] = ["GET", "PUT", "POST", "HEAD", "OPTIONS", "DELETE"].map { Array($0.utf8) }

    private static func methodName(_ method: UInt32) -> String {
        Int(method) < methodNames.count ? methodNames[Int(method)] : String(cString: http_method_str(http_method(rawValue: method)))
    }

    // MARK: http-parser callbacks

    private static func parserFor(_ raw: UnsafeMutablePointer<http_parser>?) -> HTTPRequestParser {
        Unmanaged<HTTPRequestParser>.fromOpaque(raw!.pointee.data).takeUnretainedValue()
    }

    /// One immutable callback table shared by every parser (allocated once, never freed).
    nonisolated(unsafe) private static let settings: UnsafeMutablePointer<http_parser_settings> = {
        let pointer = UnsafeMutablePointer<http_parser_settings>.allocate(capacity: 1)
        pointer.initialize(to: makeSettings())
        return pointer
    }()

    private static func makeSettings() -> http_parser_settings {
        var settings = http_parser_settings()
        http_parser_settings_init(&settings)
        settings.on_url = { raw, at, length in
            let this = HTTPRequestParser.parserFor(raw)
            guard this.countHeaderBytes(length) else { return -1 }
            this.request.target.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
            return 0
        }
        settings.on_header_field = { raw, at, length in
            let this = HTTPRequestParser.parserFor(raw)
            guard this.countHeaderBytes(length) else { return -1 }
            if this.lastCallbackWasValue { this.finishHeader() }
            this.fieldBuffer.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
            return 0
        }
        settings.on_header_value = { raw, at, length in
            let this = HTTPRequestParser.parserFor(raw)
            guard this.countHeaderBytes(length) else { return -1 }
            this.lastCallbackWasValue = true
            this.valueBuffer.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
            return 0
        }
        settings.on_headers_complete = { raw in
            let this = HTTPRequestParser.parserFor(raw)
            if this.lastCallbackWasValue || !this.fieldBuffer.isEmpty { this.finishHeader() }
            let parser = raw!.pointee
            this.request.method = HTTPRequestParser.methodName(UInt32(parser.method))
            this.request.versionMajor = Int(parser.http_major)
            this.request.versionMinor = Int(parser.http_minor)
            this.request.keepAlive = http_should_keep_alive(raw) != 0
            this.request.isUpgrade = parser.upgrade != 0
            if parser.content_length != UInt64.max, parser.content_length > UInt64(this.maxBodyBytes) {
                this.rejection = .payloadTooLarge
                return -1
            }
            if let verdict = this.delegate?.requestHeadersComplete(this.request), case let .reject(status) = verdict {
                this.rejection = status
                return -1
            }
            return 0
        }
        settings.on_body = { raw, at, length in
            let this = HTTPRequestParser.parserFor(raw)
            guard this.request.body.count + length <= this.maxBodyBytes else {
                this.rejection = .payloadTooLarge
                return -1
            }
            this.request.body.append(contentsOf: UnsafeRawBufferPointer(start: at, count: length))
            return 0
        }
        settings.on_message_complete = { raw in
            let this = HTTPRequestParser.parserFor(raw)
            this.messageComplete = true
            // The keep-alive decision needs the whole message (HTTP/1.0 bodies end at close).
            this.request.keepAlive = http_should_keep_alive(raw) != 0
            http_parser_pause(raw, 1)
            return 0
        }
        return settings
    }

    private func countHeaderBytes(_ length: Int) -> Bool {
        headerBytes += length
        if headerBytes > maxHeaderBytes {
            rejection = .headersTooLarge
            return false
        }
        return true
    }

    private func finishHeader() {
        for i in fieldBuffer.indices where fieldBuffer[i] >= UInt8(ascii: "A") && fieldBuffer[i] <= UInt8(ascii: "Z") {
            fieldBuffer[i] += 32
        }
        if let known = HTTPRequest.Header.named(fieldBuffer) {
            request.headers.append((known, String(decoding: valueBuffer, as: UTF8.self)))
        }
        fieldBuffer.removeAll(keepingCapacity: true)
        valueBuffer.removeAll(keepingCapacity: true)
        lastCallbackWasValue = false
    }
}
