internal import FirehoseCore

/// Server-to-client WebSocket frames around a shared payload: only the 2-10 header bytes are
/// built per frame, and header and payload leave in one write (see `OutputBuffer`).
enum WebSocketFraming {
    static func writeText(_ payload: SharedBytes, to bev: BufferEvent) {
        withTextHeader(for: payload) { OutputBuffer.write(prefix: $0, payload, to: bev) }
    }

    /// Queues the frame without sending (behind bytes that must go first, e.g. wslay's own frames).
    static func addText(_ payload: SharedBytes, to output: EventBuffer) {
        withTextHeader(for: payload) { OutputBuffer.add(prefix: $0, payload, to: output) }
    }

    private static func withTextHeader(for payload: SharedBytes, _ body: (UnsafeRawBufferPointer) -> Void) {
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let length = WebSocketProtocol.textFrameHeader(length: payload.count, into: &header)
        withUnsafeBytes(of: &header) { body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

    /// Frames the server writes itself: close with 1002 (protocol error), close with 1009
    /// (message too big), and an empty ping.
    static let protocolErrorClose: [UInt8] = [0x88, 0x02, 0x03, 0xEA]
    static let tooBigClose: [UInt8] = [0x88, 0x02, 0x03, 0xF1]
    /// Close with 1008 (policy violation) and the reason `token expired`: the credentials of the
    /// upgrade ran out (spec/auth.md).
    static let tokenExpiredClose: [UInt8] = [0x88, 0x0F, 0x03, 0xF0] + Array("token expired".utf8)
    /// 1001, going away: the server is draining; the JS client reconnects (to another node).
    static let goingAwayClose: [UInt8] = [0x88, 0x02, 0x03, 0xE9]
    static let ping: [UInt8] = [0x89, 0x00]
}

/// The text frames a WebSocket subscriber gets: the Firehose frame with the WebSocket frame
/// header in front of its head, so a delivery is the three pieces of one `EncodedMessage`.
enum WebSocketFormats {
    static let single = MessageFormat(name: "websocket-frame") { message, bodyLength in
        framed(FirehoseFrame.framing(channel: nil, sequence: message.sequence), bodyLength)
    }

    static let multiplexed = MessageFormat(name: "websocket-multiplexed-frame") { message, bodyLength in
        framed(FirehoseFrame.framing(channel: message.channel, sequence: message.sequence), bodyLength)
    }

    private static func framed(_ frame: (head: [UInt8], tail: [UInt8]), _ bodyLength: Int) -> (head: [UInt8], tail: [UInt8]) {
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let length = WebSocketProtocol.textFrameHeader(length: frame.head.count + bodyLength + frame.tail.count, into: &header)
        // One allocation at its final size: `Array(header) + frame.head` made a temporary array
        // as well. (`init(repeating:count:)` or `init(unsafeUninitializedCapacity:)` and writing
        // in place cost more here, callgrind.)
        var head: [UInt8] = []
        head.reserveCapacity(length + frame.head.count)
        withUnsafeBytes(of: &header) { head.append(contentsOf: $0[0..<length]) }
        head += frame.head
        return (head, frame.tail)
    }
}
