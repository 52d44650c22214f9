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

    public init(ttl: Int = PublishOptions.defaultTTL, bufferSize: Int, persist: Bool = false, deprecated: Bool = false) {
        self.ttl = ttl
        self.bufferSize = bufferSize
        self.persist = persist
        self.deprecated = deprecated
    }

    /// Reads the option headers. `header` returns a header's value by lowercase name.
    /// `bufferSizeLimit` caps `X-Firehose-Buffer-Size` so one publisher cannot make a channel
    /// hold an unbounded number of messages.
    public init(header: (String) -> String?, defaultBufferSize: Int, bufferSizeLimit: Int) {
        self.init(bufferSize: defaultBufferSize)
        if let cacheControl = header("cache-control"), let maxAge = PublishOptions.maxAge(cacheControl) {
            ttl = maxAge
        }
        if let size = header("x-firehose-buffer-size") {
            bufferSize = min(LenientInteger.parse(size), bufferSizeLimit)
        }
        persist = header("x-firehose-persist") == "true"
        deprecated = header("x-firehose-deprecated") == "true"
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
