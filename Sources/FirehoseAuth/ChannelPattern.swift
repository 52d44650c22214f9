/// A channel pattern from a token's `publish`, `subscribe` or `topics` claim.
///
/// Grammar: a pattern is a channel path (it starts with `/`) split into segments at `/`.
/// - A segment `*` matches exactly one non-empty channel segment.
/// - A final segment `**` matches zero or more remaining non-empty segments: `/users/42/**`
///   matches `/users/42`, `/users/42/a` and `/users/42/a/b`; `/**` matches every channel.
/// - Every other segment matches itself exactly, byte for byte. There is no globbing inside a
///   segment: `/a*` matches only the channel `/a*`.
///
/// Wildcards never match an empty segment (`/chat/*` does not match `/chat/` and `/a/**` does not
/// match `/a/` nor `/a//b`): such channels are odd spellings, and an odd spelling should not be a
/// way into a channel that the grant did not name. A pattern may still name them literally.
/// The channel `/` has no segments, so only the patterns `/` and `/**` match it.
///
/// Channels are compared in the form the server uses for channel names (the request path without
/// its query string); this type does no percent-decoding.
///
/// Matching takes one pass over the channel: at most one comparison per segment, no backtracking.
public struct ChannelPattern: Sendable, Hashable, CustomStringConvertible {
    enum Segment: Sendable, Hashable {
        case literal([UInt8])
        case one
        case rest
    }

    /// The pattern as written in the token.
    public let description: String
    let segments: [Segment]

    /// Nil for an invalid pattern: one that does not start with `/`, or that has `**` anywhere but
    /// as its final segment.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return nil }
        var segments: [Segment] = []
        if bytes.count > 1 {
            for part in bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
                if segments.last == .rest { return nil }
                switch Array(part) {
                case [UInt8(ascii: "*")]: segments.append(.one)
                case [UInt8(ascii: "*"), UInt8(ascii: "*")]: segments.append(.rest)
                case let literal: segments.append(.literal(literal))
                }
            }
        }
        self.description = text
        self.segments = segments
    }

    public func matches(_ channel: String) -> Bool {
        var channel = channel
        return channel.withUTF8 { matches(utf8: $0) }
    }

    /// The same match over a channel's UTF-8 bytes, for callers that hold the path as bytes.
    public func matches(utf8 channel: UnsafeBufferPointer<UInt8>) -> Bool {
        guard channel.first == UInt8(ascii: "/") else { return false }
        var cursor = SegmentCursor(channel)
        for segment in segments {
            switch segment {
            case .rest:
                while let range = cursor.next() {
                    if range.isEmpty { return false }
                }
                return true
            case .one:
                guard let range = cursor.next(), !range.isEmpty else { return false }
            case let .literal(expected):
                guard let range = cursor.next(), range.count == expected.count,
                      expected.withUnsafeBufferPointer({ bytesEqual($0, channel, range) }) else { return false }
            }
        }
        return cursor.next() == nil
    }

    private func bytesEqual(_ expected: UnsafeBufferPointer<UInt8>, _ channel: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        for byte in expected {
            if channel[i] != byte { return false }
            i += 1
        }
        return true
    }
}

/// Walks a channel path's segments (the ranges between slashes after the leading one). `/` has
/// none; `/a/` has `a` and an empty one.
private struct SegmentCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var start: Int
    var done: Bool

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.start = 1
        self.done = bytes.count == 1
    }

    mutating func next() -> Range<Int>? {
        guard !done else { return nil }
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "/") { end += 1 }
        let range = start..<end
        if end == bytes.count { done = true } else { start = end + 1 }
        return range
    }
}
