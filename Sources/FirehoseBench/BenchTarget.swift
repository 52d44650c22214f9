#if canImport(Glibc)
import Glibc
#endif

/// Which server protocol the load generator speaks.
public enum WireProtocol: String, Sendable, CaseIterable {
    /// Firehose: `PUT /<channel>`, long-poll `GET /<channel>?last_message_sequence=N`, WebSocket
    /// on the channel path subscribing with `{"last_message_sequence":N}`, event stream on the
    /// channel path resuming with `Last-Event-ID: N`.
    case firehose
    /// Nchan: `POST /pub/<id>`, long-poll `GET /sub/<id>` resuming with `If-Modified-Since` and
    /// `If-None-Match`, WebSocket on `/sub/<id>` with the `ws+meta.nchan` subprotocol for message ids,
    /// event stream on `/sub/<id>` resuming with `Last-Event-ID`.
    case nchan
}

public enum SubscriberTransport: String, Sendable, CaseIterable {
    case longpoll
    case ws
    /// Server-Sent Events (`Accept: text/event-stream`).
    case sse
}

/// Where a subscriber is in its channel, in the terms its protocol resumes with.
struct ResumePoint {
    /// Firehose: the last sequence received (0: none yet).
    var sequence = 0
    /// Nchan long-poll: the `Last-Modified` and `Etag` of the last response.
    var lastModified: String?
    var etag: String?
    /// Nchan WebSocket and event stream: the id of the last message (`<time>:<tag>`), from its
    /// `id:` meta line or event field.
    var eventID: String?
}

/// The server under test: address, protocol, and the requests each role sends.
public struct BenchTarget {
    public let proto: WireProtocol
    public let host: String
    public let port: UInt16
    let address: sockaddr_in
    let basePath: String
    /// Distinguishes this run's channels from any earlier run's on the same server.
    let runID: String

    public init(url: String, proto: WireProtocol) throws(BenchError) {
        guard url.hasPrefix("http://") else { throw .usage("--url must start with http:// (got \(url))") }
        let rest = url.dropFirst(7)
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        let parts = authority.split(separator: ":", maxSplits: 1)
        let host = parts.first.map(String.init) ?? ""
        guard let port = parts.count == 2 ? UInt16(parts[1]) : 80 else { throw .usage("bad port in --url \(url)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        let numeric = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, numeric, &address.sin_addr) == 1 else {
            throw .usage("--url host must be an IPv4 address or localhost (got \(host))")
        }
        self.proto = proto
        self.host = host
        self.port = port
        self.address = address
        self.basePath = path
        var seed = UInt64(monotonicMicros()) ^ UInt64(getpid()) << 32
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        self.runID = String(seed >> 24 & 0xffffff, radix: 36)
    }

    /// Letters and digits only: Nchan's sample configurations match ids with `\w+`.
    func channelName(_ index: Int) -> String { "b\(runID)c\(index)" }

    private var hostHeader: String { port == 80 ? host : "\(host):\(port)" }

    /// The start of a Firehose long-poll, up to the sequence: a subscriber keeps it, since 10,000
    /// of them re-poll tens of thousands of times a second.
    func firehosePollPrefix(channel: Int) -> [UInt8] {
        Array("GET \(channelPath(channel))?last_message_sequence=".utf8)
    }

    func firehosePoll(prefix: [UInt8], sequence: Int) -> [UInt8] {
        var bytes = prefix
        bytes.reserveCapacity(prefix.count + 40 + host.utf8.count)
        appendDecimal(sequence, to: &bytes)
        bytes += " HTTP/1.1\r\nHost: ".utf8
        bytes += host.utf8
        bytes.append(UInt8(ascii: ":"))
        appendDecimal(Int(port), to: &bytes)
        bytes += "\r\n\r\n".utf8
        return bytes
    }

    private func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude, digits: [UInt8] = []
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes += digits.reversed()
    }

    private func channelPath(_ index: Int) -> String {
        switch proto {
        case .firehose: "\(basePath)/bench/\(channelName(index))"
        case .nchan: "\(basePath)/sub/\(channelName(index))"
        }
    }

    func publishRequest(channel: Int, body: [UInt8]) -> [UInt8] {
        let line = switch proto {
        case .firehose: "PUT \(basePath)/bench/\(channelName(channel)) HTTP/1.1"
        case .nchan: "POST \(basePath)/pub/\(channelName(channel)) HTTP/1.1"
        }
        var request = Array("\(line)\r\nHost: \(hostHeader)\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request += body
        return request
    }

    func longPollRequest(channel: Int, from point: ResumePoint) -> [UInt8] {
        var request: String
        switch proto {
        case .firehose:
            return firehosePoll(prefix: firehosePollPrefix(channel: channel), sequence: point.sequence)
        case .nchan:
            request = "GET \(channelPath(channel)) HTTP/1.1\r\nHost: \(hostHeader)\r\n"
            if let lastModified = point.lastModified { request += "If-Modified-Since: \(lastModified)\r\n" }
            if let etag = point.etag { request += "If-None-Match: \(etag)\r\n" }
        }
        return Array((request + "\r\n").utf8)
    }

    /// A catch-up GET: answered at once from the buffer (Firehose only).
    func catchUpRequest(channel: Int, sequence: Int) -> [UInt8] {
        Array("GET \(channelPath(channel))?last_message_sequence=\(sequence) HTTP/1.1\r\nHost: \(hostHeader)\r\n\r\n".utf8)
    }

    func webSocketUpgrade(channel: Int, from point: ResumePoint) -> [UInt8] {
        switch proto {
        case .firehose:
            return WebSocketClientFrame.upgradeRequest(path: channelPath(channel), host: hostHeader)
        case .nchan:
            var path = channelPath(channel)
            if let id = point.eventID { path += "?last_event_id=\(id.percentEncodedForQuery())" }
            return WebSocketClientFrame.upgradeRequest(path: path, host: hostHeader, protocols: "ws+meta.nchan")
        }
    }

    /// An event-stream request resuming from `point`, as `EventSource` reconnects.
    func eventStreamRequest(channel: Int, from point: ResumePoint) -> [UInt8] {
        var request = "GET \(channelPath(channel)) HTTP/1.1\r\nHost: \(hostHeader)\r\nAccept: text/event-stream\r\n"
        switch proto {
        case .firehose:
            if point.sequence > 0 { request += "Last-Event-ID: \(point.sequence)\r\n" }
        case .nchan:
            if let id = point.eventID { request += "Last-Event-ID: \(id)\r\n" }
        }
        return Array((request + "\r\n").utf8)
    }

    /// What the client sends after the 101, if anything (Firehose subscribes with a message).
    func webSocketSubscribe(from point: ResumePoint) -> [UInt8]? {
        switch proto {
        case .firehose:
            WebSocketClientFrame.encode(opcode: WebSocketClientFrame.text, payload: Array("{\"last_message_sequence\":\(point.sequence)}".utf8))
        case .nchan:
            nil
        }
    }

    /// Advances `point` past a delivered long-poll response.
    func advance(_ point: inout ResumePoint, after response: HTTPResponse) {
        switch proto {
        case .firehose:
            if let sequence = response.body.withUnsafeBytes({ BenchPayload.lastSequence(in: $0) }) { point.sequence = sequence }
        case .nchan:
            if let lastModified = response.lastModified { point.lastModified = lastModified }
            if let etag = response.etag { point.etag = etag }
        }
    }

    /// Advances `point` past a stream event: its id is where to resume.
    func advance(_ point: inout ResumePoint, afterEvent event: ServerSentEvent) {
        switch proto {
        case .firehose:
            if let sequence = Int(event.id) { point.sequence = sequence }
        case .nchan:
            if !event.id.isEmpty { point.eventID = event.id }
        }
    }

    /// Advances `point` past a WebSocket message; returns where the message body starts in it.
    func advance(_ point: inout ResumePoint, afterFrame payload: UnsafeRawBufferPointer) -> Int {
        switch proto {
        case .firehose:
            if let sequence = BenchPayload.lastSequence(in: payload) { point.sequence = sequence }
            return 0
        case .nchan:
            let meta = NchanMeta.parse(payload)
            if let id = meta.id { point.eventID = id }
            return meta.bodyStart
        }
    }
}

/// The `ws+meta.nchan` framing: `id: <id>\ncontent-type: <type>\n\n<body>`.
enum NchanMeta {
    static func parse(_ payload: UnsafeRawBufferPointer) -> (id: String?, bodyStart: Int) {
        guard payload.starts(with: "id: ".utf8) else { return (nil, 0) }
        var id: String?
        var lineStart = 0
        var i = 0
        while i < payload.count {
            if payload[i] == 0x0a {
                if i == lineStart { return (id, i + 1) }
                let line = UnsafeRawBufferPointer(rebasing: payload[lineStart..<i])
                if line.starts(with: "id: ".utf8) { id = String(decoding: line.dropFirst(4), as: UTF8.self) }
                lineStart = i + 1
            }
            i += 1
        }
        return (id, 0)
    }
}

extension String {
    func percentEncodedForQuery() -> String {
        var out = ""
        for byte in utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x2d || byte == 0x2e || byte == 0x5f {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
