/// One published message, shared by reference among the buffer and every subscriber it reaches.
///
/// A message knows nothing of transports. Each transport declares the `MessageFormat`s it sends
/// (next to itself) and asks `encoded(as:)`: the first subscriber pays for the encoding, every
/// other one gets the same bytes, and the encodings go when the message does. At most
/// `MessageFormat.cacheSlots` encodings are kept per message, so the memory a stored message holds
/// is bounded by its body plus that many encodings whatever transports read it. Loop thread only.
public final class Message {
    public let channel: String
    public let sequence: Int
    public let body: [UInt8]
    /// (format, bytes) pairs in first-use order; a handful at most, so a scan beats hashing.
    private var encodings: [(MessageFormat, SharedBytes)] = []

    public init(channel: String, sequence: Int, body: [UInt8]) {
        self.channel = channel
        self.sequence = sequence
        self.body = body
    }

    /// The message in `format`, encoded on first use and shared afterwards.
    public func encoded(as format: MessageFormat) -> SharedBytes {
        for (known, bytes) in encodings where known === format { return bytes }
        let bytes = format.encode(self)
        if encodings.count < MessageFormat.cacheSlots {
            if encodings.isEmpty { encodings.reserveCapacity(2) }
            encodings.append((format, bytes))
        }
        return bytes
    }

    /// The body's length once JSON-escaped (without quotes): computed once, for memory accounting.
    public private(set) lazy var escapedBodyLength = JSONWriter.escapedLength(body)

    /// How many encodings this message holds now (for tests and memory accounting).
    public var cachedEncodingCount: Int { encodings.count }
}

/// A wire encoding of a message that a transport sends to many subscribers. Declare each one once,
/// as a `static let` beside the transport that uses it: the instance is the cache key.
public final class MessageFormat: Sendable {
    /// Encodings a message keeps; past this, further formats are encoded per use and not kept.
    /// Four covers long-poll (frame, whole response), multiplexing and one stream transport.
    public static let cacheSlots = 4

    public let name: String
    let encode: @Sendable (Message) -> SharedBytes

    public init(name: String, encode: @escaping @Sendable (Message) -> SharedBytes) {
        self.name = name
        self.encode = encode
    }
}
