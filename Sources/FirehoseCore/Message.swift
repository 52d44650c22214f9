/// One published message, shared by reference among the buffer and every subscriber it reaches.
///
/// Its wire encodings are built at most once, on first use, and then the same bytes go to every
/// subscriber: no per-subscriber JSON encoding. Instances live on the event loop thread only.
public final class Message {
    public let channel: String
    public let sequence: Int
    public let body: [UInt8]

    public init(channel: String, sequence: Int, body: [UInt8]) {
        self.channel = channel
        self.sequence = sequence
        self.body = body
    }

    /// `{"message":"...","last_sequence":N}`: the single-channel long-poll and WebSocket frame.
    public private(set) lazy var frame = SharedBytes(Message.encode(channel: nil, body: body, sequence: sequence))

    /// `{"channel":"...","message":"...","last_sequence":N}`: the multiplexed frame.
    public private(set) lazy var multiplexedFrame = SharedBytes(Message.encode(channel: channel, body: body, sequence: sequence))

    /// The whole keep-alive `200` long-poll response (head and frame), for the common case of a
    /// waiter with no `Origin` to echo: fan-out to such waiters is one buffer append each.
    public private(set) lazy var longPollResponse = Message.response(frame)

    /// The same for a multiplexed long-poll.
    public private(set) lazy var multiplexedLongPollResponse = Message.response(multiplexedFrame)

    private static func response(_ body: SharedBytes) -> SharedBytes {
        SharedBytes(ResponseHead(status: .ok, contentLength: body.count, keepAlive: true).encoded() + body.bytes)
    }

    public static func encode(channel: String?, body: [UInt8], sequence: Int) -> [UInt8] {
        var channelBytes: [UInt8] = []
        if let channel { channelBytes = Array(channel.utf8) }
        var writer = JSONWriter(capacity: JSONWriter.escapedLength(body) + JSONWriter.escapedLength(channelBytes) + 64)
        if channel != nil {
            writer.raw("{\"channel\":")
            writer.string(channelBytes)
            writer.raw(",\"message\":")
        } else {
            writer.raw("{\"message\":")
        }
        writer.string(body)
        writer.raw(",\"last_sequence\":")
        writer.integer(sequence)
        writer.raw("}")
        return writer.bytes
    }
}
