/// Limits that keep one client (or a few) from holding the loop, the memory or a connection for
/// longer than the server can afford. Every value has a range checked at start-up.
public struct HardeningConfiguration: Sendable {
    /// Distinct channels one multiplexed request (long-poll, SSE) or one multiplexed WebSocket may
    /// subscribe to. More: 400 (HTTP) or an error frame (WebSocket), see spec/limits.md.
    public var maxChannelsPerConnection = 1000
    public static let maxChannelsPerConnectionRange = 1...100_000

    /// Seconds a request's line, headers and body may take to arrive, however slowly they trickle
    /// in (the idle timeout restarts with every byte; this does not). Reaching it: 408 and a close.
    public var requestTimeout: Double = 30
    public static let requestTimeoutRange = 1.0...3600.0

    /// Seconds a closing connection may take to send what is still queued for it before it is
    /// dropped anyway (a client that stops reading must not keep a closing socket forever).
    public var closeFlushTimeout: Double = 10
    public static let closeFlushTimeoutRange = 0.1...3600.0

    /// Channels listed per bucket in `/metrics@firehose`: the busiest (`active_channels` counts all).
    public var metricsChannels = 1000
    public static let metricsChannelsRange = 0...10_000

    /// Bytes all channel buffers may hold (memory backend): each message counts its body, one
    /// JSON encoding and 128 bytes. A publish that would pass it gets 503 (spec LIM-6).
    public var maxMemory = 1 << 30
    public static let maxMemoryRange = (1 << 20)...(1 << 40)

    public init() {}

    public func validate() throws(ServerError) {
        try HardeningConfiguration.check("--max-channels-per-connection", maxChannelsPerConnection, Self.maxChannelsPerConnectionRange)
        try HardeningConfiguration.check("--request-timeout", requestTimeout, Self.requestTimeoutRange)
        try HardeningConfiguration.check("--close-flush-timeout", closeFlushTimeout, Self.closeFlushTimeoutRange)
        try HardeningConfiguration.check("--metrics-channels", metricsChannels, Self.metricsChannelsRange)
        try HardeningConfiguration.check("--max-memory", maxMemory, Self.maxMemoryRange)
    }

    /// The one style for a number out of range: the flag, the value and the allowed range.
    public static func check<T: Comparable & CustomStringConvertible>(_ flag: String, _ value: T, _ range: ClosedRange<T>) throws(ServerError) {
        guard range.contains(value) else {
            throw .invalidConfiguration("\(flag) \(value) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }
    }
}
