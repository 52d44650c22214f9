/// One HTTP/1.1 response as the load generator needs it: status, the headers Nchan resumes with,
/// and the body.
public struct HTTPResponse: Sendable {
    public var status = 0
    public var keepAlive = true
    public var lastModified: String?
    public var etag: String?
    public var body: [UInt8] = []
}

public enum HTTPResponseError: Error, Equatable, Sendable {
    case malformed(String)
}

/// Incremental reader of HTTP/1.1 responses (Content-Length, chunked, or no body). Pure: bytes in,
/// responses out, so it is tested on its own.
public struct HTTPResponseReader: Sendable {
    public var inbox = ByteInbox()

    public init() {}

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { inbox.append(bytes) }

    /// The next complete response, or nil until more bytes arrive.
    public mutating func next() throws(HTTPResponseError) -> HTTPResponse? {
        let result: Result<(HTTPResponse, Int)?, HTTPResponseError> = inbox.withBytes { bytes in
            guard let headEnd = Self.find(Self.crlfcrlf, in: bytes, from: 0) else {
                return bytes.count > 65536 ? .failure(.malformed("response head over 64 KiB")) : .success(nil)
            }
            var response = HTTPResponse()
            var contentLength: Int?
            var chunked = false
            let head = UnsafeRawBufferPointer(rebasing: bytes[0..<headEnd])
            var lineStart = 0
            var first = true
            while lineStart <= head.count {
                let lineEnd = Self.find(Self.crlf, in: head, from: lineStart) ?? head.count
                let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<lineEnd])
                if first {
                    first = false
                    guard line.count >= 12, line.starts(with: "HTTP/1.".utf8),
                          line[9...11].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                        return .failure(.malformed("bad status line"))
                    }
                    response.status = Int(line[9] - 0x30) * 100 + Int(line[10] - 0x30) * 10 + Int(line[11] - 0x30)
                    response.keepAlive = line[7] == UInt8(ascii: "1")
                } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                    // Names compared as bytes: a publish benchmark reads ~100k responses a second.
                    let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
                    var valueStart = colon + 1
                    while valueStart < line.count, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
                    let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])
                    if Self.named(name, "content-length") {
                        var length = 0
                        for byte in value where byte >= 0x30 && byte <= 0x39 { length = length * 10 + Int(byte - 0x30) }
                        contentLength = length
                    } else if Self.named(name, "transfer-encoding") {
                        chunked = Self.contains(value, "chunked")
                    } else if Self.named(name, "connection") {
                        if Self.contains(value, "close") { response.keepAlive = false }
                        if Self.contains(value, "keep-alive") { response.keepAlive = true }
                    } else if Self.named(name, "last-modified") {
                        response.lastModified = String(decoding: value, as: UTF8.self).trimmingSpaces()
                    } else if Self.named(name, "etag") {
                        response.etag = String(decoding: value, as: UTF8.self).trimmingSpaces()
                    }
                }
                lineStart = lineEnd + 2
            }
            var consumed = headEnd + 4
            // 1xx, 204 and 304 have no body whatever their headers say (the tool never sends HEAD).
            if response.status < 200 || response.status == 204 || response.status == 304 { return .success((response, consumed)) }
            if chunked {
                var body: [UInt8] = []
                while true {
                    guard let sizeEnd = Self.find(Self.crlf, in: bytes, from: consumed) else { return .success(nil) }
                    let sizeText = String(decoding: bytes[consumed..<sizeEnd], as: UTF8.self)
                    guard let size = Int(sizeText.split(separator: ";").first.map(String.init) ?? "", radix: 16) else {
                        return .failure(.malformed("bad chunk size"))
                    }
                    if size == 0 {
                        guard let end = Self.find(Self.crlfcrlf, in: bytes, from: sizeEnd) else { return .success(nil) }
                        consumed = end + 4
                        break
                    }
                    guard bytes.count >= sizeEnd + 2 + size + 2 else { return .success(nil) }
                    body.append(contentsOf: bytes[(sizeEnd + 2)..<(sizeEnd + 2 + size)])
                    consumed = sizeEnd + 2 + size + 2
                }
                response.body = body
                return .success((response, consumed))
            }
            guard let length = contentLength else {
                return .failure(.malformed("response without Content-Length or chunking"))
            }
            guard bytes.count >= consumed + length else { return .success(nil) }
            response.body = Array(bytes[consumed..<(consumed + length)])
            return .success((response, consumed + length))
        }
        switch result {
        case let .failure(error): throw error
        case .success(nil): return nil
        case let .success((response, consumed)?):
            inbox.consume(consumed)
            return response
        }
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let crlfcrlf: [UInt8] = [13, 10, 13, 10]
    static func named(_ name: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard name.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for i in 0..<name.count where name[i] | 0x20 != expected[i] | 0x20 { return false }
        return true
    }

    /// Whether `value` holds `lowercase`, ignoring ASCII case. Bytes, not `String.contains`: that
    /// one (a searcher with a skip table per call) was 21% of the client's CPU in a 1,000-subscriber
    /// long-poll fan-out, which made the load generator, not the server, set the latency.
    static func contains(_ value: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        let needle = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard needle.count <= value.count else { return false }
        var start = 0
        while start + needle.count <= value.count {
            var k = 0
            while k < needle.count, value[start + k] | 0x20 == needle[k] | 0x20 { k += 1 }
            if k == needle.count { return true }
            start += 1
        }
        return false
    }

    static func find(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var i = start
        let last = bytes.count - needle.count
        while i <= last {
            if bytes[i] == needle[0], startsWith(needle, in: bytes, at: i) { return i }
            i += 1
        }
        return nil
    }

    static func startsWith(_ needle: [UInt8], in bytes: UnsafeRawBufferPointer, at index: Int) -> Bool {
        guard index >= 0, index + needle.count <= bytes.count else { return false }
        for k in 0..<needle.count where bytes[index + k] != needle[k] { return false }
        return true
    }
}

extension String {
    func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" { scalars.removeLast() }
        return String(scalars)
    }
}
