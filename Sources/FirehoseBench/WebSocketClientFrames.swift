/// A frame from the server, as a WebSocket client sees it (servers never mask).
public struct WebSocketServerFrame: Sendable, Equatable {
    public var opcode: UInt8
    public var fin: Bool
    public var payload: [UInt8]
}

public enum WebSocketFrameError: Error, Equatable, Sendable {
    case masked
    case tooLarge(Int)
}

/// Incremental reader of server frames. Pure, tested on its own.
public struct WebSocketFrameReader: Sendable {
    public var inbox = ByteInbox()
    public var maxPayload = 16 << 20

    public init() {}

    public mutating func append(_ bytes: UnsafeRawBufferPointer) { inbox.append(bytes) }

    public mutating func next() throws(WebSocketFrameError) -> WebSocketServerFrame? {
        let maxPayload = self.maxPayload
        let parsed: Result<(WebSocketServerFrame, Int)?, WebSocketFrameError> = inbox.withBytes { bytes in
            guard bytes.count >= 2 else { return .success(nil) }
            if bytes[1] & 0x80 != 0 { return .failure(.masked) }
            var length = Int(bytes[1] & 0x7f)
            var offset = 2
            if length == 126 {
                guard bytes.count >= 4 else { return .success(nil) }
                length = Int(bytes[2]) << 8 | Int(bytes[3])
                offset = 4
            } else if length == 127 {
                guard bytes.count >= 10 else { return .success(nil) }
                length = 0
                for i in 2..<10 { length = length << 8 | Int(bytes[i]) }
                offset = 10
            }
            if length > maxPayload || length < 0 { return .failure(.tooLarge(length)) }
            guard bytes.count >= offset + length else { return .success(nil) }
            let frame = WebSocketServerFrame(opcode: bytes[0] & 0x0f, fin: bytes[0] & 0x80 != 0,
                                             payload: Array(bytes[offset..<(offset + length)]))
            return .success((frame, offset + length))
        }
        switch parsed {
        case let .failure(error): throw error
        case .success(nil): return nil
        case let .success((frame, consumed)?):
            inbox.consume(consumed)
            return frame
        }
    }
}

/// Client-to-server frames: always masked, as RFC 6455 requires of clients.
public enum WebSocketClientFrame {
    public static let text: UInt8 = 0x1
    public static let close: UInt8 = 0x8
    public static let pong: UInt8 = 0xA

    public static func encode(opcode: UInt8, payload: [UInt8], mask: (UInt8, UInt8, UInt8, UInt8) = (0x12, 0x34, 0x56, 0x78)) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count < 65536 {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xff)) }
        }
        let key = [mask.0, mask.1, mask.2, mask.3]
        frame += key
        for (i, byte) in payload.enumerated() { frame.append(byte ^ key[i & 3]) }
        return frame
    }

    /// The upgrade request. The key is fixed: the load generator has no use for the accept check.
    public static func upgradeRequest(path: String, host: String, protocols: String? = nil) -> [UInt8] {
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let protocols { request += "Sec-WebSocket-Protocol: \(protocols)\r\n" }
        return Array((request + "\r\n").utf8)
    }
}
