import FirehoseCore

/// A long-poll answer's JSON, `{"message":"...","last_sequence":N}` (with `"channel"` when
/// multiplexed), read back into its parts.
public struct LongPollFrame: Equatable, Sendable {
    public var channel: String?
    public var message: String
    public var lastSequence: Int

    public init(channel: String? = nil, message: String, lastSequence: Int) {
        self.channel = channel
        self.message = message
        self.lastSequence = lastSequence
    }

    public init?(json: [UInt8]) {
        guard let document = try? JSONParser.parse(json),
              case let .string(message)? = document["message"],
              case let .number(sequence)? = document["last_sequence"] else { return nil }
        var channel: String?
        if case let .string(name)? = document["channel"] { channel = name }
        self.init(channel: channel, message: message, lastSequence: Int(sequence))
    }
}
