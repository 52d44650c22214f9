import FirehoseCore

/// What a verified token allows, read from its claims:
/// - `publish`: an array of channel patterns the bearer may publish to;
/// - `subscribe`: an array of channel patterns the bearer may subscribe to;
/// - `topics`: patterns granting both, as an array of strings or as one comma-separated string
///   (spaces around the commas are ignored; empty items are skipped).
/// A token with none of these claims grants nothing. A claim of the wrong type, or an entry that
/// is not a valid `ChannelPattern`, makes the whole token malformed: a grant the issuer got wrong
/// is refused outright rather than honoured in part.
public struct TokenGrants: Sendable, Hashable {
    public var publish: [ChannelPattern]
    public var subscribe: [ChannelPattern]
    /// The token's `exp` claim (unix seconds), so that a holder of a long-lived connection can end
    /// it when the token runs out. Nil when the token has no `exp`.
    public var expiresAt: Double?

    public init(publish: [ChannelPattern] = [], subscribe: [ChannelPattern] = [], expiresAt: Double? = nil) {
        self.publish = publish
        self.subscribe = subscribe
        self.expiresAt = expiresAt
    }

    public func allows(_ action: AccessAction, channel: String) -> Bool {
        let patterns = action == .publish ? publish : subscribe
        var channel = channel
        return channel.withUTF8 { bytes in patterns.contains { $0.matches(utf8: bytes) } }
    }

    /// Reads the grants from a claims object; nil when a grant claim is present but unreadable.
    init?(claims: JSONValue, expiresAt: Double?) {
        guard let publish = Self.patternArray(claims["publish"]),
              let subscribe = Self.patternArray(claims["subscribe"]),
              let topics = Self.topics(claims["topics"]) else { return nil }
        self.init(publish: publish + topics, subscribe: subscribe + topics, expiresAt: expiresAt)
    }

    private static func patternArray(_ claim: JSONValue?) -> [ChannelPattern]? {
        guard let claim else { return [] }
        guard case let .array(items) = claim else { return nil }
        var patterns: [ChannelPattern] = []
        for item in items {
            guard case let .string(text) = item, let pattern = ChannelPattern(text) else { return nil }
            patterns.append(pattern)
        }
        return patterns
    }

    private static func topics(_ claim: JSONValue?) -> [ChannelPattern]? {
        guard case let .string(list)? = claim else { return patternArray(claim) }
        var patterns: [ChannelPattern] = []
        for item in list.split(separator: ",") {
            let text = item.trimmingSpaces()
            if text.isEmpty { continue }
            guard let pattern = ChannelPattern(String(text)) else { return nil }
            patterns.append(pattern)
        }
        return patterns
    }
}

extension Substring {
    /// Without the leading and trailing spaces and tabs.
    func trimmingSpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
