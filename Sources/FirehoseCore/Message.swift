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
    /// Up to `MessageFormat.cacheSlots` encodings, in first-use order, kept inline: the lookup on
    /// every delivery compares identities without retaining anything (an array of (format, bytes)
    /// pairs cost about 15 retain/release calls per delivery, measured with callgrind).
    @usableFromInline var id0: ObjectIdentifier?, bytes0: SharedBytes?
    @usableFromInline var id1: ObjectIdentifier?, bytes1: SharedBytes?
    private var id2: ObjectIdentifier?, bytes2: SharedBytes?
    private var id3: ObjectIdentifier?, bytes3: SharedBytes?

    public init(channel: String, sequence: Int, body: [UInt8]) {
        self.channel = channel
        self.sequence = sequence
        self.body = body
    }

    /// The message in `format`, encoded on first use and shared afterwards.
    @inlinable
    public func encoded(as format: MessageFormat) -> SharedBytes {
        let id = ObjectIdentifier(format)
        if id0 == id { return bytes0.unsafelyUnwrapped }
        if id1 == id { return bytes1.unsafelyUnwrapped }
        return encodedSlowly(as: format, id: id)
    }

    @usableFromInline @inline(never)
    func encodedSlowly(as format: MessageFormat, id: ObjectIdentifier) -> SharedBytes {
        if id2 == id { return bytes2.unsafelyUnwrapped }
        if id3 == id { return bytes3.unsafelyUnwrapped }
        let bytes = format.encode(self)
        if id0 == nil {
            (id0, bytes0) = (id, bytes)
        } else if id1 == nil {
            (id1, bytes1) = (id, bytes)
        } else if id2 == nil {
            (id2, bytes2) = (id, bytes)
        } else if id3 == nil {
            (id3, bytes3) = (id, bytes)
        }
        return bytes
    }

    /// The body's length once JSON-escaped (without quotes): computed once, for memory accounting.
    public private(set) lazy var escapedBodyLength = JSONWriter.escapedLength(body)

    /// How many encodings this message holds now (for tests and memory accounting).
    public var cachedEncodingCount: Int {
        [id0, id1, id2, id3].lazy.filter { $0 != nil }.count
    }
}

/// A wire encoding of a message that a transport sends to many subscribers. Declare each one once,
/// as a `static let` beside the transport that uses it: the instance's identity is the cache key,
/// so a format must live as long as the process.
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
