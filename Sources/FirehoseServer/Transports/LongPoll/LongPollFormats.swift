internal import FirehoseCore

/// What long-poll sends for a message: the Firehose JSON frame as a response body, or, for the
/// common waiter with no `Origin` to echo on a keep-alive connection, the whole `200` response
/// (head and frame) encoded once per message, so fan-out to such waiters is one write each.
enum LongPollFormats {
    static let response = MessageFormat(name: "long-poll-response") { message, bodyLength in
        wholeResponse(FirehoseFrame.framing(channel: nil, sequence: message.sequence), bodyLength)
    }

    static let multiplexedResponse = MessageFormat(name: "multiplexed-long-poll-response") { message, bodyLength in
        wholeResponse(FirehoseFrame.framing(channel: message.channel, sequence: message.sequence), bodyLength)
    }

    /// The response head in front of the frame's head; the frame's tail ends the response.
    private static func wholeResponse(_ frame: (head: [UInt8], tail: [UInt8]), _ bodyLength: Int) -> (head: [UInt8], tail: [UInt8]) {
        let length = frame.head.count + bodyLength + frame.tail.count
        return (ResponseHead(status: .ok, contentLength: length, keepAlive: true).encoded() + frame.head, frame.tail)
    }
}
