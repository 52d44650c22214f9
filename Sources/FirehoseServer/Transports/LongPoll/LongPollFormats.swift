internal import FirehoseCore

/// What long-poll sends for a message: the Firehose JSON frame as a response body, or, for the
/// common waiter with no `Origin` to echo on a keep-alive connection, the whole `200` response
/// (head and frame) encoded once per message, so fan-out to such waiters is one write each.
enum LongPollFormats {
    static let response = MessageFormat(name: "long-poll-response") { message in
        wholeResponse(message.encoded(as: FirehoseFrame.single))
    }

    static let multiplexedResponse = MessageFormat(name: "multiplexed-long-poll-response") { message in
        wholeResponse(message.encoded(as: FirehoseFrame.multiplexed))
    }

    private static func wholeResponse(_ body: SharedBytes) -> SharedBytes {
        SharedBytes(ResponseHead(status: .ok, contentLength: body.count, keepAlive: true).encoded() + body.bytes)
    }
}
