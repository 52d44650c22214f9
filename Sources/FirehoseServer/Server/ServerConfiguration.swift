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
    public var stateFile = StateFileConfiguration()
    public var auth = AuthConfiguration()
    public var redisHA = RedisHAConfiguration()
    public var operations = OperationsConfiguration()
    public var logging = LoggingConfiguration()

    public init() {}

    /// Problems that make the configuration unusable, as readable sentences.
    public func validate() throws(ServerError) {
        guard (0...65535).contains(port) else { throw .invalidConfiguration("port \(port) is not 0-65535") }
        guard longPollTimeout > 0 else { throw .invalidConfiguration("the long-poll timeout must be positive") }
        guard idleTimeout > 0 else { throw .invalidConfiguration("the idle timeout must be positive") }
        guard defaultBufferSize >= 0 else { throw .invalidConfiguration("the buffer size cannot be negative") }
        guard maxBufferSize >= defaultBufferSize else {
            throw .invalidConfiguration("the maximum buffer size (\(maxBufferSize)) is below the default (\(defaultBufferSize))")
        }
        guard webSocketPingInterval > 0 else { throw .invalidConfiguration("the WebSocket ping interval must be positive") }
        guard webSocketMaxBufferedBytes >= 64 * 1024, webSocketMaxMessageBytes >= 1024 else {
            throw .invalidConfiguration("WebSocket buffer limits are too small")
        }
        guard maxBodyBytes > 0, maxHeaderBytes >= 1024 else { throw .invalidConfiguration("request size limits are too small") }
        guard sseHeartbeatInterval > 0 else { throw .invalidConfiguration("the SSE heartbeat interval must be positive") }
        guard sseRetryMilliseconds >= 0 else { throw .invalidConfiguration("the SSE retry delay cannot be negative") }
        guard redisTimeout > 0 else { throw .invalidConfiguration("the Redis timeout must be positive") }
        try stateFile.validate(backend: backend)
        try auth.validate()
        try redisHA.validate(backend: backend, redisTimeout: redisTimeout)
        try operations.validate()
        try logging.validate()
    }
}
