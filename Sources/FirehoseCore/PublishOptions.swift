/// What a publisher asks for with its request headers, read exactly as Firehose reads them.
public struct PublishOptions: Equatable, Sendable {
    /// Seconds the channel lives after this publish; `<= 0` expires it at once (the message is
    /// still delivered live). Ignored when `persist` is set.
    public var ttl: Int
    /// How many of the newest messages the channel keeps after this publish; `<= 0` keeps none.
    public var bufferSize: Int
    /// Keep the channel forever (`X-Firehose-Persist: true`, exact and lowercase).
    public var persist: Bool
    /// `X-Firehose-Deprecated: true`: only logged, as in the reference.
    public var deprecated: Bool

    public static let defaultTTL = 86_400
    /// The longest lifetime a publisher may ask for: 2^31 - 1 s (68 years). Redis refuses an
    /// `EXPIRE` whose deadline in milliseconds overflows; inside the publish script that refusal
    /// comes after the message was stored and announced, leaving keys with no expiry and a
    /// publisher told 503. So a longer `max-age` is refused (400) before anything is stored.
    public static let maxTTL = 2_147_483_647

    public init(ttl: Int = PublishOptions.defaultTTL, bufferSize: Int, persist: Bool = false, deprecated: Bool = false) {
        self.ttl = ttl
        self.bufferSize = bufferSize
        self.persist = persist
        self.deprecated = deprecated
    }

    /// Reads the option headers. `header` returns a header's value by lowercase name. Values are
    /// read as the reference reads them; `outOfRange` then says whether the server accepts them.
    public init(header: (String) -> String?, defaultBufferSize: Int) {
        self.init(bufferSize: defaultBufferSize)
        if let cacheControl = header(Self.cacheControlHeader), let maxAge = PublishOptions.maxAge(cacheControl) {
            ttl = maxAge
        }
        if let size = header(Self.bufferSizeHeader) {
            bufferSize = LenientInteger.parse(size)
        }
        persist = header(Self.persistHeader) == "true"
        deprecated = header(Self.deprecatedHeader) == "true"
    }

    /// The lowercase names of the headers `init(header:defaultBufferSize:)` reads: a request with
    /// none of them gets `init(bufferSize:)`'s defaults.
    public static let headerNames = [cacheControlHeader, bufferSizeHeader, persistHeader, deprecatedHeader]
    private static let cacheControlHeader = "cache-control"
    private static let bufferSizeHeader = "x-firehose-buffer-size"
    private static let persistHeader = "x-firehose-persist"
    private static let deprecatedHeader = "x-firehose-deprecated"

    /// Why these options cannot be stored, or `nil` when they can (spec EXT-14): a `max-age` above
    /// `maxTTL` (ignored, like every `max-age`, under persist) or an `X-Firehose-Buffer-Size`
    /// above `bufferSizeLimit`, so one publisher cannot make a channel hold an unbounded number of
    /// messages. Zero, negative and non-numeric values keep their reference meaning (PUB-7, PUB-9).
    public func outOfRange(bufferSizeLimit: Int) -> String? {
        if !persist, ttl > PublishOptions.maxTTL {
            return "Cache-Control max-age=\(ttl) is out of range (at most \(PublishOptions.maxTTL) seconds); nothing was published."
        }
        if bufferSize > bufferSizeLimit {
            return "X-Firehose-Buffer-Size \(bufferSize) is out of range (at most \(bufferSizeLimit) on this server); nothing was published."
        }
        return nil
    }

    /// The value of the last `max-age=` directive: directives split on `,`, trimmed, the name
    /// lowercased; the value read leniently (`max-age=abc` is 0). `max-age = 10` and a bare
    /// number are not directives Firehose understands, so they are ignored.
    public static func maxAge(_ cacheControl: String) -> Int? {
        var result: Int?
        for directive in cacheControl.split(separator: ",", omittingEmptySubsequences: true) {
            let trimmed = directive.trimmingSpaces()
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            guard trimmed[..<equals].lowercased() == "max-age" else { continue }
            result = LenientInteger.parse(Array(trimmed[trimmed.index(after: equals)...].utf8))
        }
        return result
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var slice = self
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
