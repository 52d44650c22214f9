import ArgumentParser
import FirehoseServer
#if canImport(Glibc)
import Glibc
#endif

/// Every default comes from `ServerConfiguration` (the one place they are written); a flag left
/// out falls back to its environment twin, then to that default.
private let defaults = ServerConfiguration()

struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the server.",
        discussion: """
        Publishers PUT a message to any path; clients long-poll GET that path (with \
        ?last_message_sequence=N) or open a WebSocket on it, and receive \
        {"message":...,"last_sequence":N}. Every option with an environment variable may be set \
        either way; the flag wins. As in Ruby Firehose, -h is the host and -p the port \
        (--help shows this help), and -s/--server is accepted and ignored.
        """,
        helpNames: [.long]
    )

    @Option(name: [.customShort("h"), .long], help: ArgumentHelp("Address to listen on. (env: HOST; default: \(defaults.host))", valueName: "address"))
    var host: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Accepted for Ruby Firehose's command line (it chose the Rack server) and ignored.", valueName: "name"))
    var server: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Port to listen on; 0 picks a free one. Range 0 to 65535. (env: PORT; default: \(defaults.port))", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("Channel storage: memory (one node) or redis (many nodes sharing one Redis, key-compatible with Ruby Firehose). (env: BACKEND; default: \(defaults.backend.rawValue))", valueName: "kind"))
    var backend: String?

    @Option(name: .long, help: ArgumentHelp("Redis for --backend redis, as redis://[[user]:password@]host[:port][/db] (user: a Redis 6 ACL user). (env: REDIS_URL; default: \(defaults.redis))", valueName: "url"))
    var redisUrl: String?

    @Option(name: .long, help: ArgumentHelp("Seconds Redis may take to answer before the connection is remade (publishes then get 503). Range 0.001 to 86400. (env: REDIS_TIMEOUT; default: \(defaults.redisTimeout))", valueName: "seconds"))
    var redisTimeout: Double?

    @Option(name: .long, help: ArgumentHelp("Seconds a long-poll waits before answering 204. Range 0.001 to 86400. (env: LONG_POLL_TIMEOUT; default: \(defaults.longPollTimeout))", valueName: "seconds"))
    var longPollTimeout: Double?

    @Option(name: .long, help: ArgumentHelp("Messages a channel keeps for clients that reconnect, unless the publisher sends X-Firehose-Buffer-Size. Range 0 to 1000000. (env: DEFAULT_BUFFER_SIZE; default: \(defaults.defaultBufferSize))", valueName: "count"))
    var bufferSize: Int?

    @Option(name: .long, help: ArgumentHelp("Largest X-Firehose-Buffer-Size a publisher may ask for; larger values get 400. Range --buffer-size to 1000000. (env: MAX_BUFFER_SIZE; default: \(defaults.maxBufferSize), or --buffer-size if larger)", valueName: "count"))
    var maxBufferSize: Int?

    @Option(name: .long, help: ArgumentHelp("Largest message (request body) accepted, in bytes; larger gets 413. Range 1 to 1073741824. (env: MAX_MESSAGE_SIZE; default: \(defaults.maxBodyBytes))", valueName: "bytes"))
    var maxMessageSize: Int?

    @Option(name: .long, help: ArgumentHelp("Largest request line plus headers, in bytes; larger gets 431. Range 1024 to 1048576. (env: MAX_HEADER_SIZE; default: \(defaults.maxHeaderBytes))", valueName: "bytes"))
    var maxHeaderSize: Int?

    @Option(name: .long, help: ArgumentHelp("Seconds a keep-alive connection may sit with no request and nothing left to send before it is closed. Range 0.001 to 86400. (env: IDLE_TIMEOUT; default: \(defaults.idleTimeout))", valueName: "seconds"))
    var idleTimeout: Double?

    @Option(name: .long, help: ArgumentHelp("Seconds a WebSocket may be silent before the server pings it; silent as long again, it is closed. Range 0.001 to 86400. (env: WS_PING_INTERVAL; default: \(defaults.webSocketPingInterval))", valueName: "seconds"))
    var wsPingInterval: Double?

    @Option(name: .long, help: ArgumentHelp("Bytes queued for a WebSocket client that is not reading before it is disconnected (it resumes by sequence). Range 65536 to 1073741824. (env: WS_MAX_BUFFERED; default: \(defaults.webSocketMaxBufferedBytes))", valueName: "bytes"))
    var wsMaxBuffered: Int?

    @Option(name: .long, help: ArgumentHelp("Largest message a WebSocket client may send; larger closes with 1009. Range 65536 to 16777216. (env: WS_MAX_MESSAGE_SIZE; default: \(defaults.webSocketMaxMessageBytes))", valueName: "bytes"))
    var wsMaxMessageSize: Int?

    @Option(name: .long, help: ArgumentHelp("Seconds a Server-Sent Events stream may be silent before the server sends a ': ping' comment. Range 0.001 to 86400. (env: SSE_HEARTBEAT; default: \(defaults.sseHeartbeatInterval))", valueName: "seconds"))
    var sseHeartbeat: Double?

    @Option(name: .long, help: ArgumentHelp("The retry: delay, in milliseconds, a Server-Sent Events stream starts with (the browser's reconnect delay). Range 0 to 86400000. (env: SSE_RETRY_MS; default: \(defaults.sseRetryMilliseconds))", valueName: "ms"))
    var sseRetryMs: Int?

    @Option(name: .long, help: ArgumentHelp("on or off: whether /demo@firehose serves the live demo page. (env: DEMO_PAGE; default: on)", valueName: "on|off"))
    var demo: String?

    @Option(name: .long, help: ArgumentHelp("Seconds per /metrics@firehose bucket. Range 1 to 86400. (env: METRICS_INTERVAL; default: \(defaults.metricsInterval))", valueName: "seconds"))
    var metricsInterval: Int?

    @Option(name: .long, help: ArgumentHelp("debug, info, warn, error or none. (env: LOG_LEVEL; default: info)", valueName: "level"))
    var logLevel: String?

    @OptionGroup var hardening: HardeningOptions

    @OptionGroup var stateFile: StateFileOptions
    @OptionGroup var auth: AuthOptions
    @OptionGroup var redisHA: RedisHAOptions
    @OptionGroup var operations: OperationsOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let backend = backend ?? Environment.string("BACKEND"), ServerConfiguration.BackendKind(rawValue: backend) == nil {
            throw ValidationError("unknown backend '\(backend)'; choose memory or redis")
        }
        if let url = redisUrl ?? Environment.string("REDIS_URL"), RedisEndpoint(url: url) == nil {
            throw ValidationError("'\(url)' is not a redis:// URL")
        }
        if let level = logLevel ?? Environment.string("LOG_LEVEL"), Logger.Level(name: level) == nil {
            throw ValidationError("unknown log level '\(level)'; choose debug, info, warn, error, fatal, unknown or none")
        }
        // Every range is checked here, before anything listens, so every configuration mistake
        // reads the same: "Error: --flag VALUE is out of range (MIN to MAX)", exit status 64.
        do {
            try makeConfiguration().validate()
        } catch let error as ServerError {
            guard case let .invalidConfiguration(reason) = error else { throw error }
            throw ValidationError(reason)
        }
    }

    func makeConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host ?? Environment.string("HOST") ?? configuration.host
        configuration.port = try port ?? Environment.integer("PORT") ?? configuration.port
        configuration.backend = (backend ?? Environment.string("BACKEND")).flatMap { ServerConfiguration.BackendKind(rawValue: $0) } ?? configuration.backend
        if let url = redisUrl ?? Environment.string("REDIS_URL"), let endpoint = RedisEndpoint(url: url) { configuration.redis = endpoint }
        configuration.redisTimeout = try redisTimeout ?? Environment.double("REDIS_TIMEOUT") ?? configuration.redisTimeout
        configuration.longPollTimeout = try longPollTimeout ?? Environment.double("LONG_POLL_TIMEOUT") ?? configuration.longPollTimeout
        configuration.defaultBufferSize = try bufferSize ?? Environment.integer("DEFAULT_BUFFER_SIZE") ?? configuration.defaultBufferSize
        // The cap follows a larger default buffer unless it was given: a given cap below the
        // default is a mistake that `validate()` reports, never silently raised.
        configuration.maxBufferSize = try maxBufferSize ?? Environment.integer("MAX_BUFFER_SIZE") ?? max(configuration.maxBufferSize, configuration.defaultBufferSize)
        configuration.maxBodyBytes = try maxMessageSize ?? Environment.integer("MAX_MESSAGE_SIZE") ?? configuration.maxBodyBytes
        configuration.maxHeaderBytes = try maxHeaderSize ?? Environment.integer("MAX_HEADER_SIZE") ?? configuration.maxHeaderBytes
        configuration.idleTimeout = try idleTimeout ?? Environment.double("IDLE_TIMEOUT") ?? configuration.idleTimeout
        configuration.webSocketPingInterval = try wsPingInterval ?? Environment.double("WS_PING_INTERVAL") ?? configuration.webSocketPingInterval
        configuration.webSocketMaxBufferedBytes = try wsMaxBuffered ?? Environment.integer("WS_MAX_BUFFERED") ?? configuration.webSocketMaxBufferedBytes
        configuration.webSocketMaxMessageBytes = try wsMaxMessageSize ?? Environment.integer("WS_MAX_MESSAGE_SIZE") ?? configuration.webSocketMaxMessageBytes
        configuration.sseHeartbeatInterval = try sseHeartbeat ?? Environment.double("SSE_HEARTBEAT") ?? configuration.sseHeartbeatInterval
        configuration.sseRetryMilliseconds = try sseRetryMs ?? Environment.integer("SSE_RETRY_MS") ?? configuration.sseRetryMilliseconds
        if let demo = demo ?? Environment.string("DEMO_PAGE") {
            guard let on = ["on": true, "off": false][demo.lowercased()] else { throw ValidationError("--demo \(demo) is not on or off") }
            configuration.demoPage = on
        }
        configuration.metricsInterval = try metricsInterval ?? Environment.integer("METRICS_INTERVAL") ?? configuration.metricsInterval
        configuration.logLevel = (logLevel ?? Environment.string("LOG_LEVEL")).flatMap { Logger.Level(name: $0) } ?? configuration.logLevel
        try hardening.apply(to: &configuration)
        try stateFile.apply(to: &configuration)
        try auth.apply(to: &configuration)
        try redisHA.apply(to: &configuration)
        try operations.apply(to: &configuration)
        try logging.apply(to: &configuration)
        return configuration
    }

    func run() throws {
        let configuration = try makeConfiguration()
        if let server {
            Logger(level: configuration.logLevel, format: configuration.logging.format)
                .info("--server \(server) ignored: this firehose is its own server")
        }
        let server: FirehoseServer
        do {
            server = try FirehoseServer(configuration: configuration)
        } catch {
            Logger(level: .error).error("firehose: \(error)")
            throw ExitCode(1)
        }
        server.stopOnSignals()
        server.logger.info("""
            firehose \(FirehoseVersion.current) listening on \(ServerURL.http(host: server.boundHost, port: server.boundPort)) \
            (backend: \(server.backendName), long-poll timeout: \(configuration.longPollTimeout) s, \
            buffer: \(configuration.defaultBufferSize), pid: \(getpid()))
            """)
        if server.adminPort != 0 {
            server.logger.info("admin listener on \(ServerURL.http(host: server.adminHost, port: server.adminPort)) (/metrics, /health, /ready, /channels)")
        }
        server.logAccessControl()
        server.run()
        server.logger.info("firehose stopped")
        // Exit without tearing the server down object by object: the kernel reclaims sockets and
        // memory at once, and a release build was seen to hang in libevent's event_free while
        // freeing timers after the drain (the tests keep stopped servers alive for the same reason).
        Glibc.exit(0)
    }
}
