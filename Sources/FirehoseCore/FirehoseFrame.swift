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

    /// The frame's head and tail around the escaped body (the quotes are theirs):
    /// `{"message":"` or `{"channel":"<escaped>","message":"`, and `","last_sequence":N}`.
    public static func framing(channel: String?, sequence: Int) -> (head: [UInt8], tail: [UInt8]) {
        var head: [UInt8] = []
        if let channel {
            var writer = JSONWriter(capacity: channel.utf8.count + 24)
            writer.raw("{\"channel\":")
            writer.string(channel)
            writer.raw(",\"message\":\"")
            head = writer.bytes
        } else {
            head = singleHead
        }
        var tail: [UInt8] = []
        tail.reserveCapacity(40)
        tail += tailStart
        JSONWriter.appendDecimal(sequence, to: &tail)
        tail.append(UInt8(ascii: "}"))
        return (head, tail)
    }

    private static let singleHead = Array(#"{"message":""#.utf8)
    private static let tailStart = Array(#"","last_sequence":"#.utf8)

    /// The single-channel frame (long-poll body).
    public static let single = MessageFormat(name: "frame") { message, _ in
        framing(channel: nil, sequence: message.sequence)
    }

    /// The multiplexed frame, naming the channel.
    public static let multiplexed = MessageFormat(name: "multiplexed-frame") { message, _ in
        framing(channel: message.channel, sequence: message.sequence)
    }
}
