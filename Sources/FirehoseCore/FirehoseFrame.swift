/// Firehose's JSON message frame, the one thing long-poll and WebSocket clients parse:
/// `{"message":"...","last_sequence":N}`, or with `"channel"` first when multiplexed. Key order and
/// escaping are the reference's, byte for byte (spec HTTP and WebSocket clauses on frames).
public enum FirehoseFrame {
    /// The whole frame in one array: `framing`'s head, the escaped body, its tail (the one
    /// encoder; messages keep the pieces apart, see `Message.encoded(as:)`).
    public static func encode(channel: String?, body: [UInt8], sequence: Int) -> [UInt8] {
        let (head, tail) = framing(channel: channel, sequence: sequence)
        var frame = head
        frame.reserveCapacity(head.count + JSONWriter.escapedLength(body) + tail.count)
        JSONWriter.appendEscaped(body, to: &frame)
        return frame + tail
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
