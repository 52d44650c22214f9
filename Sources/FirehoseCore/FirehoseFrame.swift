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
        return (head, tail(sequence: sequence))
    }

    /// `","last_sequence":N}`, written in place into an array of its exact size: growing an
    /// empty array cost about 800 instructions of every message (callgrind, `ws100ch`).
    static func tail(sequence: Int) -> [UInt8] {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: an Int has at most 20 digits
        let digitCount = withUnsafeMutableBytes(of: &digits) { JSONWriter.writeDecimal(sequence, endingAt: $0) }
        let start = tailStart.count
        var tail = [UInt8](repeating: UInt8(ascii: "}"), count: start + digitCount + 1)
        tail.withUnsafeMutableBytes { out in
            tailStart.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: start) }
            withUnsafeBytes(of: &digits) {
                (out.baseAddress! + start).copyMemory(from: $0.baseAddress! + (24 - digitCount), byteCount: digitCount)
            }
        }
        return tail
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
