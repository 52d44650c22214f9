/// One channel of a multiplexed subscription, and the parsing of both request forms.
public struct MultiplexSubscription: Equatable, Sendable {
    public var channel: String
    public var lastSequence: Int

    public init(channel: String, lastSequence: Int) {
        self.channel = channel
        self.lastSequence = lastSequence
    }

    /// Why a multiplexed long-poll cannot subscribe. Each maps to a 400 whose body the JS client
    /// parses as JSON (or, for the negative sequence, the reference's plain-text body).
    public enum Failure: Error, Equatable, Sendable {
        case nothingToSubscribe
        case negativeSequence
        case invalid(String)
        /// More distinct channels than the server allows in one request (`--max-channels-per-connection`).
        case tooMany(limit: Int)
    }

    /// `?subscribe=/a!1,/b!2` (already percent-decoded): entries split on `,`, empty ones skipped;
    /// the sequence after the first `!` is read leniently and negatives count as 0. A channel named
    /// twice keeps its first entry. More than `limit` distinct channels: `tooMany`, found as soon as
    /// the entry past the limit is read.
    public static func parseQuery(_ value: [UInt8], limit: Int = .max) throws(Failure) -> [MultiplexSubscription] {
        var result = Collector(limit: limit)
        for entry in value.lazy.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
            let bang = entry.firstIndex(of: UInt8(ascii: "!"))
            let name = String(decoding: bang.map { entry[entry.startIndex..<$0] } ?? entry[...], as: UTF8.self)
            guard !name.isEmpty else { continue }
            let sequence = bang.map { LenientInteger.parse(entry[entry.index(after: $0)...]) } ?? 0
            try result.append(MultiplexSubscription(channel: name, lastSequence: max(0, sequence)))
        }
        guard !result.list.isEmpty else { throw .nothingToSubscribe }
        return result.list
    }

    /// A POST body: `{"/a":1,"/b":{"last_message_sequence":2,"params":{}}}` or `[["/a",1]]`.
    /// Numbers are truncated, strings read leniently, and objects may use `last_message_sequence`
    /// or `message_sequence`. Values the reference crashes on are refused with a reason instead.
    /// More than `limit` entries (counting repeats: the JSON parser stops at the first one past
    /// the limit, so a huge body costs no more than `limit` entries) or distinct channels: `tooMany`.
    public static func parseBody(_ body: [UInt8], limit: Int = .max) throws(Failure) -> [MultiplexSubscription] {
        let document: JSONValue
        do {
            document = try JSONParser.parse(body, maxMembers: limit)
        } catch {
            if error.reason == JSONParser.tooManyMembers { throw .tooMany(limit: limit) }
            throw .nothingToSubscribe  // the reference answers invalid JSON this way too
        }
        var pairs: [(String, JSONValue)] = []
        switch document {
        case let .object(members):
            pairs = members
        case let .array(elements):
            for element in elements {
                guard case let .array(pair) = element, pair.count == 2, case let .string(name) = pair[0] else {
                    throw .invalid("each array entry must be a [channel, sequence] pair")
                }
                pairs.append((name, pair[1]))
            }
        default:
            throw .invalid("the body must be a JSON object of channel to sequence")
        }
        var result = Collector(limit: limit)
        for (name, value) in pairs {
            guard let sequence = sequence(in: value) else {
                throw .invalid("channel \(name) has no usable last_message_sequence")
            }
            guard sequence >= 0 else { throw .negativeSequence }
            try result.append(MultiplexSubscription(channel: name, lastSequence: sequence))
        }
        guard !result.list.isEmpty else { throw .nothingToSubscribe }
        return result.list
    }

    /// A sequence given as a JSON number, a numeric string, or an object holding one of those
    /// under `last_message_sequence` (preferred) or `message_sequence`.
    public static func sequence(in value: JSONValue) -> Int? {
        switch value {
        case let .number(number): return LenientInteger.truncating(number)
        case let .string(text): return LenientInteger.parse(text)
        case .object:
            if let inner = value["last_message_sequence"] ?? value["message_sequence"], isScalarSequence(inner) {
                return sequence(in: inner)
            }
            return nil
        default: return nil
        }
    }

    private static func isScalarSequence(_ value: JSONValue) -> Bool {
        switch value {
        case .number, .string: return true
        default: return false
        }
    }

    /// The subscriptions in order, first entry per channel kept. The repeat check is a set: a
    /// linear search here made a 100,000-channel request hold the loop for 44 s.
    private struct Collector {
        let limit: Int
        var list: [MultiplexSubscription] = []
        var seen: Set<String> = []

        mutating func append(_ subscription: MultiplexSubscription) throws(Failure) {
            guard seen.insert(subscription.channel).inserted else { return }
            guard list.count < limit else { throw .tooMany(limit: limit) }
            list.append(subscription)
        }
    }
}
