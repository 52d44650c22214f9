/// Firehose's JSON message frame, the one thing long-poll and WebSocket clients parse:
/// `{"message":"...","last_sequence":N}`, or with `"channel"` first when multiplexed. Key order and
/// escaping are the reference's, byte for byte (spec HTTP and WebSocket clauses on frames).
public enum FirehoseFrame {
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

    /// The single-channel frame (long-poll body, WebSocket text frame).
    public static let single = MessageFormat(name: "frame") { message in
        SharedBytes(encode(channel: nil, body: message.body, sequence: message.sequence))
    }

    /// The multiplexed frame, naming the channel.
    public static let multiplexed = MessageFormat(name: "multiplexed-frame") { message in
        SharedBytes(encode(channel: message.channel, body: message.body, sequence: message.sequence))
    }
}
