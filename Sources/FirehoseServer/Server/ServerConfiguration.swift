/// Everything the server can be told at start-up. Defaults are the reference's where it had one.
internal import FirehoseCore

public struct ServerConfiguration: Sendable {
    public enum BackendKind: String, Sendable, CaseIterable {
        case memory
        case redis
    }

    public var host = "0.0.0.0"
    public var port = 7474
    public var backend: BackendKind = .memory
    /// Where the redis backend finds Redis (`REDIS_URL`).
    public var redis = RedisEndpoint()
    /// Seconds Redis may take to answer a command before the connection is dropped and remade.
    public var redisTimeout: Double = 2
    /// Seconds a long-poll waits before its 204 (Firehose: 20).
    public var longPollTimeout: Double = 20
    /// Messages a channel keeps when the publisher does not say (`DEFAULT_BUFFER_SIZE`, 100).
    public var defaultBufferSize = 100
    /// The most messages a publisher may ask a channel to keep with `X-Firehose-Buffer-Size`.
    public var maxBufferSize = 1000
    /// The largest request body (message) accepted; larger gets 413. Firehose's Rainbows config: 5 MB.
    public var maxBodyBytes = 5 * 1024 * 1024
    /// The largest request line plus headers accepted; larger gets 431.
    public var maxHeaderBytes = 16 * 1024
    /// Seconds an HTTP connection may sit with no request in progress before it is closed (Thin: 30).
    public var idleTimeout: Double = 30
    /// Bytes read ahead of the parser before reading pauses.
    public var readHighWatermark = 256 * 1024
    /// Bytes of unsent responses after which a connection's further requests wait.
    public var writeHighWatermark = 1024 * 1024
    /// Seconds a WebSocket may be silent before it is pinged; silent for as long again, it is closed.
    public var webSocketPingInterval: Double = 30
    /// Bytes queued for a WebSocket client that is not reading before it is disconnected.
    public var webSocketMaxBufferedBytes = 1024 * 1024
    /// The largest message a WebSocket client may send (larger: close 1009).
    public var webSocketMaxMessageBytes = 64 * 1024
    /// Seconds a Server-Sent Events stream may be silent before a `: ping` comment is sent.
    public var sseHeartbeatInterval: Double = 15
    /// The `retry:` (milliseconds) a Server-Sent Events stream starts with: the browser's reconnect delay.
    public var sseRetryMilliseconds = 2000
    /// Whether `/demo@firehose` serves the live demo page.
    public var demoPage = true
    /// Seconds per metrics bucket (Firehose's METRICS_INTERVAL: 10).
    public var metricsInterval = 10
    public var logLevel: Logger.Level = .info
    public var hardening = HardeningConfiguration()
    public var stateFile = StateFileConfiguration()
    public var auth = AuthConfiguration()
    public var redisHA = RedisHAConfiguration()
    public var operations = OperationsConfiguration()
    public var logging = LoggingConfiguration()

    public init() {}

    /// Problems that make the configuration unusable, as one sentence naming the option, the
    /// value and the allowed range (spec/limits.md, "Option ranges"). The ranges keep every later conversion safe:
    /// seconds become timevals and integers grow by small constants (a 9e18-byte message limit
    /// plus a frame header overflowed; 1e19 seconds trapped converting to Int).
    public func validate() throws(ServerError) {
        typealias Ranges = ServerConfiguration
        try HardeningConfiguration.check("--port", port, 0...65535)
        try HardeningConfiguration.check("--redis-timeout", redisTimeout, Ranges.secondsRange)
        try HardeningConfiguration.check("--long-poll-timeout", longPollTimeout, Ranges.secondsRange)
        try HardeningConfiguration.check("--buffer-size", defaultBufferSize, Ranges.bufferSizeRange)
        try HardeningConfiguration.check("--max-buffer-size", maxBufferSize, Ranges.bufferSizeRange)
        guard maxBufferSize >= defaultBufferSize else {
            throw .invalidConfiguration("--max-buffer-size \(maxBufferSize) is out of range (--buffer-size \(defaultBufferSize) to \(Ranges.bufferSizeRange.upperBound))")
        }
        try HardeningConfiguration.check("--max-message-size", maxBodyBytes, Ranges.maxBodyRange)
        try HardeningConfiguration.check("--max-header-size", maxHeaderBytes, Ranges.maxHeaderRange)
        try HardeningConfiguration.check("--idle-timeout", idleTimeout, Ranges.secondsRange)
        try HardeningConfiguration.check("--ws-ping-interval", webSocketPingInterval, Ranges.secondsRange)
        try HardeningConfiguration.check("--ws-max-buffered", webSocketMaxBufferedBytes, Ranges.webSocketBufferedRange)
        try HardeningConfiguration.check("--ws-max-message-size", webSocketMaxMessageBytes, Ranges.webSocketMessageRange)
        try HardeningConfiguration.check("--sse-heartbeat", sseHeartbeatInterval, Ranges.secondsRange)
        try HardeningConfiguration.check("--sse-retry-ms", sseRetryMilliseconds, 0...86_400_000)
        try HardeningConfiguration.check("--metrics-interval", metricsInterval, 1...86400)
        try hardening.validate()
        try stateFile.validate(backend: backend)
        try auth.validate()
        try redisHA.validate(backend: backend, redisTimeout: redisTimeout)
        try operations.validate()
        try logging.validate()
    }

    /// Any duration in seconds: a millisecond to a day.
    public static let secondsRange = 0.001...86400.0
    /// Messages kept per channel (each is at most `maxBodyRange.upperBound`).
    public static let bufferSizeRange = 0...1_000_000
    /// A request body (message): one byte to 1 GiB.
    public static let maxBodyRange = 1...(1 << 30)
    public static let maxHeaderRange = 1024...(1 << 20)
    public static let webSocketBufferedRange = (64 * 1024)...(1 << 30)
    /// WSX-6: messages of up to 64 KiB are always accepted, and the limit is at most 16 MiB.
    public static let webSocketMessageRange = (64 * 1024)...(16 << 20)
}
