/// A benchmark message body: `t=<send time, µs> c=<per-channel counter> ` padded with `x` to the
/// requested size. Only letters, digits, `=` and spaces, so it travels unescaped inside Firehose's
/// JSON and raw in Nchan's frames, and a subscriber can read it back from either.
public enum BenchPayload {
    public static func make(counter: Int, sentAt: UInt64, size: Int) -> [UInt8] {
        var bytes = Array("t=\(sentAt) c=\(counter) ".utf8)
        if bytes.count < size { bytes.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: size - bytes.count)) }
        return bytes
    }

    /// Finds the payload's fields anywhere in `bytes` (a Firehose JSON frame, an Nchan body).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> (counter: Int, sentAt: UInt64)? {
        guard let t = find(UInt8(ascii: "t"), in: bytes, from: 0),
              let (sentAt, afterTime) = number(in: bytes, at: t + 2),
              let c = find(UInt8(ascii: "c"), in: bytes, from: afterTime),
              let (counter, _) = number(in: bytes, at: c + 2)
        else { return nil }
        return (Int(counter), sentAt)
    }

    /// Firehose's `"last_sequence":N` from a long-poll body or WebSocket frame.
    public static func lastSequence(in bytes: UnsafeRawBufferPointer) -> Int? {
        let key = Array("\"last_sequence\":".utf8)
        guard bytes.count >= key.count else { return nil }
        var start = bytes.count - key.count
        while start >= 0 {
            if bytes[start] == key[0], (0..<key.count).allSatisfy({ bytes[start + $0] == key[$0] }) {
                return number(in: bytes, at: start + key.count).map { Int($0.value) }
            }
            start -= 1
        }
        return nil
    }

    /// The first `<letter>=` that starts a word (so `t=` inside `c=12t=` is not taken).
    private static func find(_ letter: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        while i + 1 < bytes.count {
            if bytes[i] == letter, bytes[i + 1] == UInt8(ascii: "="), i == 0 || !isWordByte(bytes[i - 1]) { return i }
            i += 1
        }
        return nil
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == UInt8(ascii: "_")
    }

    private static func number(in bytes: UnsafeRawBufferPointer, at start: Int) -> (value: UInt64, end: Int)? {
        var i = start, value: UInt64 = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            value = value &* 10 &+ UInt64(bytes[i] - 0x30)
            i += 1
        }
        return i > start ? (value, i) : nil
    }
}
