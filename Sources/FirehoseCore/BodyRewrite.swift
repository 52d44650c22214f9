/// The two ways a wire format carries a message body: JSON-escaped (every Firehose frame) or split
/// into Server-Sent Events `data:` lines (a single-channel event). Either is the body itself when
/// the body has nothing to rewrite (no byte JSON escapes; no line break), which costs no memory.
public enum BodyRewrite: UInt8, Sendable {
    /// `"` and `\` escaped, control bytes as `\n` or `\u00xx` (`JSONWriter`), without quotes.
    case jsonEscaped = 1
    /// Every line break (CR LF, CR or LF) made `\ndata: `: the event's `data:` lines, when the
    /// event's head ends with `data: ` and its tail starts with a line feed (spec/sse.md).
    case eventStreamLines = 2

    /// The rewritten body's length; the body's own length when nothing is to rewrite.
    public func length(of body: [UInt8]) -> Int {
        switch self {
        case .jsonEscaped: return JSONWriter.escapedLength(body)
        case .eventStreamLines: return body.count + BodyRewrite.lineBreaks(in: body) * (BodyRewrite.dataLineBreak.count - 1) - BodyRewrite.crlfPairs(in: body)
        }
    }

    /// The rewritten body, or nil when it would equal the body.
    public func apply(to body: [UInt8]) -> [UInt8]? {
        switch self {
        case .jsonEscaped:
            let length = JSONWriter.escapedLength(body)
            guard length != body.count else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(length)
            JSONWriter.appendEscaped(body, to: &out)
            return out
        case .eventStreamLines:
            guard BodyRewrite.lineBreaks(in: body) > 0 else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(length(of: body))
            var index = 0
            var start = 0
            while index < body.count {
                let byte = body[index]
                if byte == BodyRewrite.lineFeed || byte == BodyRewrite.carriageReturn {
                    out += body[start..<index]
                    out += BodyRewrite.dataLineBreak
                    if byte == BodyRewrite.carriageReturn, index + 1 < body.count, body[index + 1] == BodyRewrite.lineFeed { index += 1 }
                    start = index + 1
                }
                index += 1
            }
            out += body[start..<body.count]
            return out
        }
    }

    /// CR, LF and CR LF each count once.
    static func lineBreaks(in body: [UInt8]) -> Int {
        var count = 0
        var index = 0
        while index < body.count {
            let byte = body[index]
            if byte == lineFeed || byte == carriageReturn {
                count += 1
                if byte == carriageReturn, index + 1 < body.count, body[index + 1] == lineFeed { index += 1 }
            }
            index += 1
        }
        return count
    }

    static func crlfPairs(in body: [UInt8]) -> Int {
        var count = 0
        var index = 0
        while index + 1 < body.count {
            if body[index] == carriageReturn, body[index + 1] == lineFeed { count += 1; index += 2 } else { index += 1 }
        }
        return count
    }

    /// The longest of the body's rewrites that is not the body itself (0 when none is needed):
    /// what a stored message may hold besides its body (`Message.body(_:)` keeps one rewrite).
    public static func largestRewrite(of body: [UInt8]) -> Int {
        let escaped = JSONWriter.escapedLength(body)
        guard escaped != body.count else { return 0 }  // no control byte, so no line break either
        // Without line breaks the SSE rewrite is the body's length, below the escaped one.
        return max(escaped, BodyRewrite.eventStreamLines.length(of: body))
    }

    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let dataLineBreak = Array("\ndata: ".utf8)
}
