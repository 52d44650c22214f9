import ArgumentParser
import FirehoseServer
import FirehoseCore
import CLibevent
#if canImport(Glibc)
import Glibc
#endif

struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the server (the default command).",
        discussion: """
        Publishers PUT a message to any path; clients long-poll GET that path (with \
        ?last_message_sequence=N) or open a WebSocket on it, and receive \
        {"message":...,"last_sequence":N}. Every option with an environment variable may be set \
        either way; the flag wins.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Address to listen on. (env: HOST; default: 0.0.0.0)", valueName: "address"))
    var host: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Port to listen on; 0 picks a free one. (env: PORT; default: 7474)", valueName: "port"))
    var port: Int?

    @Option(name: .long, help: ArgumentHelp("Channel storage: memory (one node) or redis (many nodes sharing one Redis, key-compatible with Ruby Firehose).", valueName: "kind"))
    var backend: String = "memory"

    @Option(name: .long, help: ArgumentHelp("Redis for --backend redis, as redis://[:password@]host[:port][/db]. (env: REDIS_URL; default: redis://127.0.0.1:6379/0)", valueName: "url"))
    var redisUrl: String?

    @Option(name: .long, help: ArgumentHelp("Seconds Redis may take to answer before the connection is remade (publishes then get 503).", valueName: "seconds"))
    var redisTimeout: Double = 2

    @Option(name: .long, help: ArgumentHelp("Seconds a long-poll waits before answering 204.", valueName: "seconds"))
    var longPollTimeout: Double = 20

    @Option(name: .long, help: ArgumentHelp("Messages a channel keeps for clients that reconnect, unless the publisher sends X-Firehose-Buffer-Size. (env: DEFAULT_BUFFER_SIZE; default: 100)", valueName: "count"))
    var bufferSize: Int?

    @Option(name: .long, help: ArgumentHelp("Largest X-Firehose-Buffer-Size a publisher may ask for; larger values are capped.", valueName: "count"))
    var maxBufferSize: Int = 1000

    @Option(name: .long, help: ArgumentHelp("Largest message (request body) accepted, in bytes; larger gets 413.", valueName: "bytes"))
    var maxMessageSize: Int = 5 * 1024 * 1024

    @Option(name: .long, help: ArgumentHelp("Largest request line plus headers, in bytes; larger gets 431.", valueName: "bytes"))
    var maxHeaderSize: Int = 16 * 1024

    @Option(name: .long, help: ArgumentHelp("Seconds a keep-alive connection may sit with no request before it is closed.", valueName: "seconds"))
    var idleTimeout: Double = 30

    @Option(name: .long, help: ArgumentHelp("Seconds a WebSocket may be silent before the server pings it; silent as long again, it is closed.", valueName: "seconds"))
    var wsPingInterval: Double = 30

    @Option(name: .long, help: ArgumentHelp("Bytes queued for a WebSocket client that is not reading before it is disconnected (it resumes by sequence).", valueName: "bytes"))
    var wsMaxBuffered: Int = 1024 * 1024

    @Option(name: .long, help: ArgumentHelp("Largest message a WebSocket client may send; larger closes with 1009.", valueName: "bytes"))
    var wsMaxMessageSize: Int = 64 * 1024

    @Option(name: .long, help: ArgumentHelp("Seconds per /metrics@firehose bucket. (env: METRICS_INTERVAL; default: 10)", valueName: "seconds"))
    var metricsInterval: Int?

    @Option(name: .long, help: ArgumentHelp("debug, info, warn, error or none. (env: LOG_LEVEL; default: info)", valueName: "level"))
    var logLevel: String?

    func validate() throws {
        guard ServerConfiguration.BackendKind(rawValue: backend) != nil else {
            throw ValidationError("unknown backend '\(backend)'; choose memory or redis")
        }
        if let url = redisUrl ?? Environment.string("REDIS_URL"), RedisEndpoint(url: url) == nil {
            throw ValidationError("'\(url)' is not a redis:// URL")
        }
        if let level = logLevel ?? Environment.string("LOG_LEVEL"), Logger.Level(name: level) == nil {
            throw ValidationError("unknown log level '\(level)'; choose debug, info, warn, error or none")
        }
    }

    func makeConfiguration() throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host ?? Environment.string("HOST") ?? configuration.host
        configuration.port = try port ?? Environment.integer("PORT") ?? configuration.port
        configuration.backend = ServerConfiguration.BackendKind(rawValue: backend) ?? .memory
        if let url = redisUrl ?? Environment.string("REDIS_URL"), let endpoint = RedisEndpoint(url: url) { configuration.redis = endpoint }
        configuration.redisTimeout = redisTimeout
        configuration.longPollTimeout = longPollTimeout
        configuration.defaultBufferSize = try bufferSize ?? Environment.integer("DEFAULT_BUFFER_SIZE") ?? configuration.defaultBufferSize
        configuration.maxBufferSize = max(maxBufferSize, configuration.defaultBufferSize)
        configuration.maxBodyBytes = maxMessageSize
        configuration.maxHeaderBytes = maxHeaderSize
        configuration.idleTimeout = idleTimeout
        configuration.webSocketPingInterval = wsPingInterval
        configuration.webSocketMaxBufferedBytes = wsMaxBuffered
        configuration.webSocketMaxMessageBytes = wsMaxMessageSize
        configuration.metricsInterval = try metricsInterval ?? Environment.integer("METRICS_INTERVAL") ?? configuration.metricsInterval
        configuration.logLevel = (logLevel ?? Environment.string("LOG_LEVEL")).flatMap { Logger.Level(name: $0) } ?? .info
        return configuration
    }

    func run() throws {
        let configuration = try makeConfiguration()
        let server: FirehoseServer
        do {
            server = try FirehoseServer(configuration: configuration)
        } catch {
            Logger(level: .error).error("firehose: \(error)")
            throw ExitCode(1)
        }
        server.stopOnSignals()
        server.logger.info("""
            firehose \(FirehoseVersion.current) listening on http://\(server.boundHost):\(server.boundPort) \
            (backend: \(server.backendName), long-poll timeout: \(configuration.longPollTimeout) s, \
            buffer: \(configuration.defaultBufferSize), pid: \(getpid()))
            """)
        server.run()
        server.logger.info("firehose stopped")
    }
}
