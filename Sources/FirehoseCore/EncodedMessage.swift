/// One message in one wire format: a short head and tail of its own (sequence number, channel
/// name, HTTP head or WebSocket frame header: tens to a few hundred bytes) around the body bytes it
/// shares with the message's other formats (`Message.body(_:)`). A transport sends the three
/// pieces in one `sendmsg`, so fan-out never copies the body per format nor per connection.
public final class EncodedMessage {
    public let head: UnsafeRawBufferPointer
    public let body: SharedBytes
    public let tail: UnsafeRawBufferPointer
    /// Head and tail in one allocation.
    private let framing: UnsafeMutableRawPointer

    public init(head: [UInt8], body: SharedBytes, tail: [UInt8]) {
        let framing = UnsafeMutableRawPointer.allocate(byteCount: max(1, head.count + tail.count), alignment: 8)
        head.withUnsafeBytes { if let base = $0.baseAddress { framing.copyMemory(from: base, byteCount: head.count) } }
        tail.withUnsafeBytes { if let base = $0.baseAddress { (framing + head.count).copyMemory(from: base, byteCount: tail.count) } }
        self.framing = framing
        self.head = UnsafeRawBufferPointer(start: framing, count: head.count)
        self.body = body
        self.tail = UnsafeRawBufferPointer(start: framing + head.count, count: tail.count)
    }

    deinit { framing.deallocate() }

    /// Bytes on the wire. Inlinable: read on every WebSocket delivery (an accessor call cost
    /// 20 instructions per delivery, measured with callgrind).
    @inlinable public var count: Int { head.count + body.count + tail.count }

    /// The bytes this encoding holds of its own (the body is the message's).
    @inlinable public var framingCount: Int { head.count + tail.count }

    /// All of it in one array (tests, and the rare path that needs it contiguous).
    public var bytes: [UInt8] { Array(head) + body.bytes + Array(tail) }
}
