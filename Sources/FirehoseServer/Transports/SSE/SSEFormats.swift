internal import FirehoseCore

/// Server-Sent Events framing (spec/sse.md). A single-channel event carries the body itself, so
/// `EventSource` hands the page exactly the published text; a multiplexed event carries the
/// multiplexed Firehose frame, whose JSON never contains a line break.
enum SSEFormats {
    /// `id: <sequence>\n`, the body as `data:` lines, then the blank line that ends the event:
    /// the head ends with the first `data: ` and the body's line breaks become `\ndata: `
    /// (`BodyRewrite.eventStreamLines`: CR LF, CR and LF, the line breaks the SSE parser
    /// recognises), so a body without line breaks is carried as it is. An empty body is one
    /// empty `data:` line, so the event is still dispatched (with empty data).
    static let event = MessageFormat(name: "sse-event", rewrite: .eventStreamLines) { message, _ in
        var head: [UInt8] = []
        head.reserveCapacity(32)
        head += idPrefix
        JSONWriter.appendDecimal(message.sequence, to: &head)
        head.append(newline)
        head += dataPrefix
        return (head, eventEnd)
    }

    static let idPrefix = Array("id: ".utf8)
    static let dataPrefix = Array("data: ".utf8)
    static let heartbeat = Array(": ping\n\n".utf8)
    static let eventEnd = Array("\n\n".utf8)
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")

    static func retry(milliseconds: Int) -> [UInt8] {
        Array("retry: \(milliseconds)\n\n".utf8)
    }
}

/// The `id:` of a multiplexed event: the position on every subscribed channel, in the
/// `subscribe` grammar (`/a!7,/b!3`), so that the browser's `Last-Event-ID` resumes each one.
enum SSEPosition {
    static func encode(_ positions: [(channel: String, sequence: Int)]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, position) in positions.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += position.channel.utf8
            out.append(UInt8(ascii: "!"))
            JSONWriter.appendDecimal(position.sequence, to: &out)
        }
        return out
    }

    /// The sequences a `Last-Event-ID` names, by channel; an unreadable id names none.
    static func parse(_ lastEventID: String) -> [String: Int] {
        guard let entries = try? MultiplexSubscription.parseQuery(Array(lastEventID.utf8)) else { return [:] }
        var result: [String: Int] = [:]
        for entry in entries { result[entry.channel] = entry.lastSequence }
        return result
    }
}
