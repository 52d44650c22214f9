import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// A blocking RFC 6455 client: enough for tests and tools to hold real WebSockets to a server.
public final class WebSocketClientConnection {
    public struct Frame: Sendable {
        public var opcode: UInt8
        public var payload: [UInt8]
        public var text: String { String(decoding: payload, as: UTF8.self) }
    }

    public let connection: HTTPClientConnection

    /// Connects and upgrades `target` (a channel path, or `/channels@firehose?subscribe=...`).
    public init(host: String, port: Int, target: String, timeout: Double = 10) throws(HTTPClientConnection.Failure) {
        connection = try HTTPClientConnection(host: host, port: port, timeout: timeout)
        var key: [UInt8] = []
        for _ in 0..<16 { key.append(UInt8.random(in: 0...255)) }
        let encodedKey = Base64.encode(key)
        try connection.send(Array("GET \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(encodedKey)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        let response = try connection.readResponse()
        guard response.status == 101, response.header("Sec-WebSocket-Accept") == WebSocketProtocol.acceptValue(forKey: encodedKey) else {
            throw .malformed("upgrade refused: HTTP \(response.status) \(response.text)")
        }
    }

    /// Sends one masked frame (text by default).
    public func send(_ payload: [UInt8], opcode: UInt8 = 1) throws(HTTPClientConnection.Failure) {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: UInt64(payload.count) >> UInt64(shift))) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index & 3]) }
        try connection.send(frame)
    }

    public func send(text: String) throws(HTTPClientConnection.Failure) {
        try send(Array(text.utf8))
    }

    /// Reads the next frame; server pings are answered and skipped unless `controlFrames` is set.
    public func receive(controlFrames: Bool = false) throws(HTTPClientConnection.Failure) -> Frame {
        while true {
            let head = try connection.read(count: 2)
            var length = Int(head[1] & 0x7F)
            if length == 126 {
                let extended = try connection.read(count: 2)
                length = Int(extended[0]) << 8 | Int(extended[1])
            } else if length == 127 {
                length = try connection.read(count: 8).reduce(0) { $0 << 8 | Int($1) }
            }
            let frame = Frame(opcode: head[0] & 0x0F, payload: try connection.read(count: length))
            if frame.opcode == 0x9, !controlFrames {
                try send(frame.payload, opcode: 0xA)
                continue
            }
            return frame
        }
    }
}
