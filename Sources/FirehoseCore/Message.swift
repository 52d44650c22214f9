/// One published message, shared by reference among the buffer and every subscriber it reaches.
///
/// A message knows nothing of transports. Each transport declares the `MessageFormat`s it sends
/// (next to itself) and asks `encoded(as:)`: the first subscriber pays for the encoding, every
/// other one gets the same bytes, and the encodings go when the message does.
///
/// Memory: every format is a small head and tail around the body, either JSON-escaped or split
/// into SSE `data:` lines (`BodyRewrite`). A message keeps its body and at most ONE rewritten copy
/// of it (none when the body needs no rewriting: the formats then share the body's own bytes),
/// plus the heads and tails of up to `MessageFormat.cacheSlots` formats. So whatever transports
/// read it, a stored message holds at most body + one encoding of the body + a bounded overhead
/// (`MemoryBudget` in the server charges exactly that; spec LIM-6). Before, each format kept a
/// whole copy: four 5 MiB control-byte bodies read over every transport took RSS to ~456 MB.
/// Loop thread only.
public final class Message {
    public let channel: String
    public let sequence: Int
    public let body: [UInt8]
    /// Up to `MessageFormat.cacheSlots` encodings, in first-use order, kept inline: the lookup on
    /// every delivery compares identities without retaining anything (an array of (format, bytes)
    /// pairs cost about 15 retain/release calls per delivery, measured with callgrind).
    @usableFromInline var id0: ObjectIdentifier?, encoding0: EncodedMessage?
    @usableFromInline var id1: ObjectIdentifier?, encoding1: EncodedMessage?
    private var id2: ObjectIdentifier?, encoding2: EncodedMessage?
    private var id3: ObjectIdentifier?, encoding3: EncodedMessage?
    /// The body's bytes shared with the formats that carry it unchanged (no copy).
    private var bodyBytes: SharedBytes?
    /// The one rewritten body kept (`rewriteKept` says which rewrite), and the rewrites known to
    /// leave this body as it is (a bit per `BodyRewrite` raw value).
    private var rewritten: SharedBytes?
    private var rewriteKept: BodyRewrite?
    private var unchangedBy: UInt8 = 0

    public init(channel: String, sequence: Int, body: [UInt8]) {
        self.channel = channel
        self.sequence = sequence
        self.body = body
    }

    /// The message in `format`, encoded on first use and shared afterwards.
    @inlinable
    public func encoded(as format: MessageFormat) -> EncodedMessage {
        let id = ObjectIdentifier(format)
        if id0 == id { return encoding0.unsafelyUnwrapped }
        if id1 == id { return encoding1.unsafelyUnwrapped }
        return encodedSlowly(as: format, id: id)
    }

    @usableFromInline @inline(never)
    func encodedSlowly(as format: MessageFormat, id: ObjectIdentifier) -> EncodedMessage {
        if id2 == id { return encoding2.unsafelyUnwrapped }
        if id3 == id { return encoding3.unsafelyUnwrapped }
        let (shared, kept) = body(format.rewrite)
        let (head, tail) = format.framing(self, shared.count)
        let encoding = EncodedMessage(head: head, body: shared, tail: tail)
        // An encoding around a rewrite that is not kept is not kept either: it would hold a
        // second copy of the body.
        guard kept else { return encoding }
        if id0 == nil {
            (id0, encoding0) = (id, encoding)
        } else if id1 == nil {
            (id1, encoding1) = (id, encoding)
        } else if id2 == nil {
            (id2, encoding2) = (id, encoding)
        } else if id3 == nil {
            (id3, encoding3) = (id, encoding)
        }
        return encoding
    }

    /// The body as `rewrite` makes it, and whether the message keeps it. The body's own bytes
    /// when the rewrite changes nothing; otherwise the first rewrite asked for is kept, and a
    /// different one (a body with line breaks read both as JSON and as SSE lines) is built for
    /// the caller only, so no message ever holds two rewritten copies.
    public func body(_ rewrite: BodyRewrite) -> (bytes: SharedBytes, kept: Bool) {
        if rewriteKept == rewrite, let rewritten { return (rewritten, true) }
        if unchangedBy & rewrite.rawValue == 0 {
            guard let bytes = rewrite.apply(to: body) else {
                unchangedBy |= rewrite.rawValue
                return (sharedBody, true)
            }
            let shared = SharedBytes(bytes)
            guard rewritten == nil else { return (shared, false) }
            (rewritten, rewriteKept) = (shared, rewrite)
            return (shared, true)
        }
        return (sharedBody, true)
    }

    private var sharedBody: SharedBytes {
        if let bodyBytes { return bodyBytes }
        let shared = SharedBytes(keeping: body)
        bodyBytes = shared
        return shared
    }

    /// The most bytes this message can hold besides its body: its longest rewrite that is not the
    /// body itself (0 when neither rewrite changes it). Computed once, for memory accounting.
    public var largestRewriteLength: Int {
        if let largestRewrite { return largestRewrite }
        let largest = BodyRewrite.largestRewrite(of: body)
        largestRewrite = largest
        // 0: the body has nothing to escape and no line break, so no rewrite changes it. Noted
        // here, the first encoding does not scan the body again (about 430 instructions of a
        // 100-byte publish, callgrind).
        if largest == 0 { unchangedBy = BodyRewrite.jsonEscaped.rawValue | BodyRewrite.eventStreamLines.rawValue }
        return largest
    }
    private var largestRewrite: Int?

    /// How many encodings this message holds now (for tests and memory accounting).
    public var cachedEncodingCount: Int {
        [id0, id1, id2, id3].lazy.filter { $0 != nil }.count
    }

    /// The bytes this message holds now: its body, its rewritten body if it keeps one, and the
    /// heads and tails of its cached encodings (object headers are not counted; `MemoryBudget`
    /// adds a fixed overhead for them).
    public var heldBytes: Int {
        let framing = [encoding0, encoding1, encoding2, encoding3].reduce(0) { $0 + ($1?.framingCount ?? 0) }
        return body.count + (rewritten?.count ?? 0) + framing
    }
}

/// A wire encoding of a message that a transport sends to many subscribers: which rewrite of the
/// body it carries, and the head and tail around it. Declare each one once, as a `static let`
/// beside the transport that uses it: the instance's identity is the cache key, so a format must
/// live as long as the process.
public final class MessageFormat: Sendable {
    /// Encodings a message keeps; past this, further formats are framed per use (the body is
    /// still shared) and not kept. Four covers long-poll (frame, whole response), multiplexing
    /// and one stream transport.
    public static let cacheSlots = 4
    /// The longest head plus tail of a format, not counting the escaped channel name a
    /// multiplexed format repeats: an HTTP head with a 10-digit length (85 B), `{"channel":"",`
    /// and `"message":"` (24 B), and `","last_sequence":` with 20 digits and `}` (39 B).
    /// `MemoryBudget` charges this per cache slot.
    public static let maxFramingBytes = 148

    public let name: String
    public let rewrite: BodyRewrite
    /// The head and tail around a body (rewritten) of the given length.
    let framing: @Sendable (Message, Int) -> (head: [UInt8], tail: [UInt8])

    public init(name: String, rewrite: BodyRewrite = .jsonEscaped, framing: @escaping @Sendable (Message, Int) -> (head: [UInt8], tail: [UInt8])) {
        self.name = name
        self.rewrite = rewrite
        self.framing = framing
    }
}
