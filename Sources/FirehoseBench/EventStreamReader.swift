/// One event of a Server-Sent Events stream, as `EventSource` would dispatch it.
public struct ServerSentEvent: Sendable, Equatable {
    /// The last event id set on the stream so far (ids persist across events, as in `lastEventId`).
    public var id: String
    /// The event's `data:` lines joined with `\n`.
    public var data: [UInt8]

    public init(id: String, data: [UInt8]) {
        self.id = id
        self.data = data
    }
}

/// What an event stream yields, in order.
public enum EventStreamItem: Sendable, Equatable {
    /// The response head said 200 with `Content-Type: text/event-stream`: the stream is open.
    case opened
    case event(ServerSentEvent)
    /// A `retry:` field (milliseconds).
    case retry(Int)
    /// A comment line (`: ping` heartbeats).
    case comment
}

public enum EventStreamError: Error, Equatable, Sendable {
    /// The server answered something else than a stream (a long-poll 200, a 204, an error).
    case notAStream(status: Int)
    case malformed(String)
}

/// Incremental reader of an event-stream response: the HTTP head, then the body (chunked, or
/// close-delimited for HTTP/1.0), parsed as the WHATWG HTML standard's "Server-sent events"
/// section says (lines end in CRLF, LF or CR; `data`, `id`, `retry` fields; comments; an empty
/// line dispatches). Pure: bytes in, items out, so it is tested on its own.
public struct EventStreamReader: Sendable {
    private enum Stage: Sendable {
        case head
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case closeDelimited
        case finished
    }

    private var raw = ByteInbox()
    /// De-chunked stream bytes not yet cut into lines.
    private var text: [UInt8] = []
    private var textStart = 0
    private var stage = Stage.head
    private var data: [UInt8] = []
    private var lastEventID = ""

    public init() {}

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { raw.append(bytes) }

    /// The next item, or nil until more bytes arrive (or for good, after the last chunk).
    public mutating func next() throws(EventStreamError) -> EventStreamItem? {
        if case .head = stage {
            guard try readHead() else { return nil }
            return .opened
        }
        dechunk()
        if case .chunkSize = stage, raw.count > 1024 {
            throw .malformed("chunk size line over 1 KiB")
        }
        if let error = chunkError { throw error }
        return nextFromLines()
    }

    // MARK: head

    private mutating func readHead() throws(EventStreamError) -> Bool {
        let parsed: Result<(status: Int, stream: Bool, chunked: Bool, end: Int)?, EventStreamError> = raw.withBytes { bytes in
            guard let headEnd = HTTPResponseReader.find(Self.crlfcrlf, in: bytes, from: 0) else {
                return bytes.count > 65536 ? .failure(.malformed("response head over 64 KiB")) : .success(nil)
            }
            let head = String(decoding: bytes[0..<headEnd], as: UTF8.self)
            let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusParts = lines[0].split(separator: " ", maxSplits: 2)
            guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
                return .failure(.malformed("bad status line"))
            }
            var stream = false, chunked = false
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].lowercased()
                let value = line[line.index(after: colon)...].lowercased()
                if name == "content-type" { stream = value.contains("text/event-stream") }
                if name == "transfer-encoding" { chunked = value.contains("chunked") }
            }
            return .success((status, stream, chunked, headEnd + 4))
        }
        switch parsed {
        case let .failure(error):
            throw error
        case .success(nil):
            return false
        case let .success(head?):
            guard head.status == 200, head.stream else { throw .notAStream(status: head.status) }
            raw.consume(head.end)
            stage = head.chunked ? .chunkSize : .closeDelimited
            return true
        }
    }

    // MARK: body

    private var chunkError: EventStreamError?

    /// Moves every complete piece of the body from `raw` to `text`.
    private mutating func dechunk() {
        while true {
            switch stage {
            case .head, .finished:
                return
            case .closeDelimited:
                raw.withBytes { text.append(contentsOf: $0) }
                raw.removeAll()
                return
            case .chunkSize:
                let line: (size: Int?, consumed: Int)? = raw.withBytes { bytes in
                    guard let end = HTTPResponseReader.find(Self.crlf, in: bytes, from: 0) else { return nil }
                    var size = 0, digits = 0
                    for byte in bytes[0..<end] {
                        guard let digit = Self.hexValue(byte) else { break }  // extensions (`;...`) ignored
                        size = size &* 16 &+ digit
                        digits += 1
                    }
                    return (digits > 0 && digits <= 15 ? size : nil, end + 2)
                }
                guard let line else { return }
                guard let size = line.size else {
                    chunkError = .malformed("bad chunk size")
                    stage = .finished
                    return
                }
                raw.consume(line.consumed)
                // The last chunk: whatever trailers follow, the stream is over.
                stage = size == 0 ? .finished : .chunkData(remaining: size)
            case let .chunkData(remaining):
                guard !raw.isEmpty else { return }
                let taken = min(remaining, raw.count)
                raw.withBytes { text.append(contentsOf: $0[0..<taken]) }
                raw.consume(taken)
                stage = taken == remaining ? .chunkEnd : .chunkData(remaining: remaining - taken)
            case .chunkEnd:
                guard raw.count >= 2 else { return }
                let ok = raw.withBytes { $0[0] == 13 && $0[1] == 10 }
                guard ok else {
                    chunkError = .malformed("chunk not followed by CRLF")
                    stage = .finished
                    return
                }
                raw.consume(2)
                stage = .chunkSize
            }
        }
    }

    // MARK: lines

    private mutating func nextFromLines() -> EventStreamItem? {
        while let line = nextLine() {
            if let item = process(line) { return item }
        }
        return nil
    }

    /// The next complete line, without its terminator. A CR at the very end of what has arrived
    /// waits for the next byte, which may be the LF of a CRLF.
    private mutating func nextLine() -> ArraySlice<UInt8>? {
        var i = textStart
        while i < text.count {
            let byte = text[i]
            if byte == 10 || byte == 13 {
                var next = i + 1
                if byte == 13 {
                    if next == text.count { return nil }
                    if text[next] == 10 { next += 1 }
                }
                let line = text[textStart..<i]
                textStart = next
                return line
            }
            i += 1
        }
        if textStart > 0 {
            text.removeSubrange(0..<textStart)
            textStart = 0
        }
        return nil
    }

    private mutating func process(_ line: ArraySlice<UInt8>) -> EventStreamItem? {
        if line.isEmpty {
            // Dispatch: an event only when data lines came, without the last line's LF.
            guard !data.isEmpty else { return nil }
            data.removeLast()
            let event = ServerSentEvent(id: lastEventID, data: data)
            data = []
            return .event(event)
        }
        if line.first == UInt8(ascii: ":") { return .comment }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let name = colon.map { line[line.startIndex..<$0] } ?? line
        var value = colon.map { line[($0 + 1)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if name.elementsEqual("data".utf8) {
            data += value
            data.append(10)
        } else if name.elementsEqual("id".utf8) {
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        } else if name.elementsEqual("retry".utf8) {
            if !value.isEmpty, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let ms = Int(String(decoding: value, as: UTF8.self)) {
                return .retry(ms)
            }
        }
        return nil  // `event:` and unknown fields change nothing the load generator counts
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let crlfcrlf: [UInt8] = [13, 10, 13, 10]

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }
}
