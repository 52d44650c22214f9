/// The pure parts of Firehose's WebSocket protocol: the handshake answer, frame headers, and what
/// each client message means. The I/O layer applies these; nothing here touches a socket.
public enum WebSocketProtocol {
    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
    public static func acceptValue(forKey key: String) -> String {
        let trimmed = key.trimmingCharacters()
        return Base64.encode(SHA1.digest(Array((trimmed + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
    }

    /// The reference's 101, byte for byte: no Server, no Date, no subprotocol or extension.
    public static func handshakeResponse(forKey key: String) -> [UInt8] {
        Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(acceptValue(forKey: key))\r\n\r\n".utf8)
    }

    /// The header of an unmasked, final text frame carrying `length` bytes. Server frames are
    /// never masked, so one encoded payload serves every subscriber; only this header is written
    /// per frame.
    public static func textFrameHeader(length: Int, into out: inout (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) -> Int {
        out.0 = 0x81
        if length < 126 {
            out.1 = UInt8(length)
            return 2
        } else if length <= 0xFFFF {
            out.1 = 126
            out.2 = UInt8(length >> 8)
            out.3 = UInt8(truncatingIfNeeded: length)
            return 4
        } else {
            out.1 = 127
            let value = UInt64(length)
            out.2 = UInt8(truncatingIfNeeded: value >> 56); out.3 = UInt8(truncatingIfNeeded: value >> 48)
            out.4 = UInt8(truncatingIfNeeded: value >> 40); out.5 = UInt8(truncatingIfNeeded: value >> 32)
            out.6 = UInt8(truncatingIfNeeded: value >> 24); out.7 = UInt8(truncatingIfNeeded: value >> 16)
            out.8 = UInt8(truncatingIfNeeded: value >> 8); out.9 = UInt8(truncatingIfNeeded: value)
            return 10
        }
    }

    public static let pongPayload = Array(#"{"pong":"PONG"}"#.utf8)

    /// What the first bytes of a frame say about it.
    public struct FrameHeader: Equatable, Sendable {
        public var fin: Bool
        public var opcode: UInt8
        /// Bytes of header, including the masking key.
        public var headerLength: Int
        public var payloadLength: UInt64

        public init(fin: Bool, opcode: UInt8, headerLength: Int, payloadLength: UInt64) {
            self.fin = fin
            self.opcode = opcode
            self.headerLength = headerLength
            self.payloadLength = payloadLength
        }

        public var isControl: Bool { opcode & 0x8 != 0 }
        public var totalLength: UInt64 { UInt64(headerLength) &+ payloadLength }
    }

    /// Reads a frame header from the start of `bytes`, or `nil` while it is incomplete (at most
    /// 14 bytes are ever needed). Validation beyond framing (masking, opcodes) is wslay's.
    public static func frameHeader(_ bytes: UnsafeRawBufferPointer) -> FrameHeader? {
        guard bytes.count >= 2 else { return nil }
        let masked = bytes[1] & 0x80 != 0
        var length = UInt64(bytes[1] & 0x7F)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = (2..<10).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) }
            offset = 10
        }
        if masked { offset += 4 }
        // Found by fuzz/: a masked header cut inside its masking key was returned as complete.
        guard bytes.count >= offset else { return nil }
        return FrameHeader(fin: bytes[0] & 0x80 != 0, opcode: bytes[0] & 0x0F, headerLength: offset, payloadLength: length)
    }

    /// What a message on a single-channel socket asks for.
    public enum ChannelCommand: Equatable, Sendable {
        case ping
        /// Subscribe after this sequence (0: the latest). Only the first subscription counts.
        case subscribe(lastSequence: Int)
    }

    /// The reference subscribes on any message that is not the ping object, at 0 when it carries
    /// no usable sequence (invalid JSON, `{}`, binary frames). Non-object JSON, which crashes the
    /// reference, is treated like invalid JSON.
    public static func channelCommand(_ payload: [UInt8], binary: Bool) -> ChannelCommand {
        guard !binary, let document = try? JSONParser.parse(payload), case .object = document else {
            return .subscribe(lastSequence: 0)
        }
        if document["ping"] == .string("PING") { return .ping }
        return .subscribe(lastSequence: sequence(in: document))
    }

    /// The sequence an object names: `last_message_sequence`, or `message_sequence` when the
    /// former is absent, `null` or `false` (the reference's `a || b`). Numbers and numeric strings
    /// count; anything else, and negatives, mean 0 (the latest).
    static func sequence(in object: JSONValue) -> Int {
        var value = object["last_message_sequence"]
        if value == nil || value == .null || value == .bool(false) { value = object["message_sequence"] }
        switch value {
        case let .number(number)?: return max(0, LenientInteger.truncating(number))
        case let .string(text)?: return max(0, LenientInteger.parse(text))
        default: return 0
        }
    }

    /// What a message on a multiplexed socket asks for.
    public enum MultiplexCommand: Equatable, Sendable {
        case ping
        case subscribe([MultiplexSubscription])
        case unsubscribe([String])
        /// Anything else, including what crashes the reference, is ignored.
        case ignore
    }

    public static func multiplexCommand(_ payload: [UInt8], binary: Bool) -> MultiplexCommand {
        guard !binary, let document = try? JSONParser.parse(payload), case .object = document else { return .ignore }
        // The reference looks for a subscribe, then an unsubscribe, then a ping.
        if let request = document["multiplex_subscribe"] {
            let entries: [JSONValue]
            switch request {
            case .object: entries = [request]
            case let .array(list): entries = list
            default: return .ignore
            }
            var subscriptions: [MultiplexSubscription] = []
            for entry in entries {
                guard case let .string(channel)? = entry["channel"], !channel.isEmpty else { continue }
                subscriptions.append(MultiplexSubscription(channel: channel, lastSequence: sequence(in: entry)))
            }
            return .subscribe(subscriptions)
        }
        if let request = document["multiplex_unsubscribe"] {
            switch request {
            case let .string(channel): return .unsubscribe([channel])
            case let .array(list): return .unsubscribe(list.compactMap { if case let .string(name) = $0 { name } else { nil } })
            default: return .ignore
            }
        }
        if document["ping"] == .string("PING") { return .ping }
        return .ignore
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(Substring(self).trimmingSpaces())
    }
}
