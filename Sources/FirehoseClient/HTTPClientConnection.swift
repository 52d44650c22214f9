#if canImport(Glibc)
import Glibc
#endif

/// One blocking HTTP/1.1 keep-alive connection over POSIX sockets: enough for the command-line
/// clients and for tests that need a real socket speaking to a real server. Not for servers.
public final class HTTPClientConnection {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.last { $0.0.lowercased() == name.lowercased() }?.1
        }

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        case connect(String)
        case io(String)
        case timeout
        case closed
        case malformed(String)

        public var description: String {
            switch self {
            case let .connect(reason): "cannot connect: \(reason)"
            case let .io(reason): "socket error: \(reason)"
            case .timeout: "timed out"
            case .closed: "connection closed by the server"
            case let .malformed(reason): "malformed response: \(reason)"
            }
        }
    }

    public let fd: Int32
    private var buffer: [UInt8] = []
    public let host: String
    public let port: Int

    /// Connects, with `timeout` seconds for each later read.
    public init(host: String, port: Int, timeout: Double = 30) throws(Failure) {
        self.host = host
        self.port = port
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var resolved: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &resolved)
        guard status == 0, let first = resolved else { throw .connect("cannot resolve \(host)") }
        defer { freeaddrinfo(resolved) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .connect(String(cString: strerror(errno))) }
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw .connect("\(host):\(port): \(reason)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
        setTimeout(timeout)
    }

    deinit { Glibc.close(fd) }

    public func setTimeout(_ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends raw bytes.
    public func send(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw .io(String(cString: strerror(errno))) }
            offset += written
        }
    }

    /// Sends one request with a Content-Length body.
    public func send(method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = []) throws(Failure) {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "PUT" || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + body)
    }

    public func request(method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = []) throws(Failure) -> Response {
        try send(method: method, target: target, headers: headers, body: body)
        return try readResponse(method: method)
    }

    /// Reads one response, framed by Content-Length (a HEAD response has no body).
    public func readResponse(method: String = "GET") throws(Failure) -> Response {
        let headEnd = try readUntilHeadEnd()
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw .malformed("empty head") }
        let statusParts = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw .malformed("bad status line") }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " })))
        }
        var response = Response(status: status, headers: headers, body: [])
        if status == 100 { return try readResponse(method: method) }
        let length = method == "HEAD" ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        while buffer.count < length { try fill() }
        response.body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return response
    }

    public enum PeerEvent: Equatable, Sendable {
        /// The server closed (or reset) the connection.
        case closed
        /// More bytes arrived.
        case data
        /// Nothing happened in the time given.
        case silent
    }

    /// Waits up to `seconds` for the server to send something or close.
    public func nextEvent(within seconds: Double) -> PeerEvent {
        if !buffer.isEmpty { return .data }
        setTimeout(seconds)
        defer { setTimeout(30) }
        do {
            try fill()
            return .data
        } catch .timeout {
            return .silent
        } catch {
            return .closed
        }
    }

    /// Reads exactly `count` bytes (after any response already read).
    public func read(count: Int) throws(Failure) -> [UInt8] {
        while buffer.count < count { try fill() }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    private func readUntilHeadEnd() throws(Failure) -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                for i in searchFrom...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                    return i
                }
                searchFrom = buffer.count - 3
            }
            try fill()
        }
    }

    private func fill() throws(Failure) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count == 0 { throw .closed }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw .timeout }
            throw .io(String(cString: strerror(errno)))
        }
        buffer.append(contentsOf: chunk[..<count])
    }
}
