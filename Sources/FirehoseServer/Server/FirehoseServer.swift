internal import CLibevent
internal import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// The server: one event loop, one listening socket, one backend. Create it on the thread that
/// will run it, then call `run()`; `stop()` may be called from anywhere.
public final class FirehoseServer {
    public let configuration: ServerConfiguration
    public let loop: EventLoop
    let context: ServerContext
    private let router: RequestRouter
    /// The public listener; closed when the drain begins.
    var listener: Listener?
    /// The admin listener (`--admin-address`), open until the process exits.
    private(set) var adminListener: Listener?
    private var adminRouter: AdminRouter?
    /// SIGTERM/SIGINT/SIGHUP events (see `stopOnSignals`) and the drain's timers.
    var signalEvents: [OpaquePointer?] = []
    var drainTimer: LoopTimer?
    var drainCheck: LoopTimer?
    /// The address actually bound (the port is the real one when 0 was asked for).
    public private(set) var boundHost = ""
    public private(set) var boundPort = 0
    /// The admin listener's bound port (0 without one).
    public var adminPort: Int { adminListener?.boundPort ?? 0 }
    public var adminHost: String { adminListener?.boundHost ?? "" }

    public convenience init(configuration: ServerConfiguration) throws(ServerError) {
        try self.init(configuration: configuration) { loop throws(ServerError) in
            try ConfiguredPolicy.make(configuration.auth, loop: loop, logger: Logger(level: configuration.logLevel))
        }
    }

    /// With a given access policy (the configured one is built from `configuration` otherwise).
    convenience init(configuration: ServerConfiguration, policy: AccessPolicy) throws(ServerError) {
        try self.init(configuration: configuration) { _ in policy }
    }

    /// `makePolicy` builds the access policy on the server's loop (a hook policy makes requests on it).
    private init(configuration: ServerConfiguration, makePolicy: (EventLoop) throws(ServerError) -> AccessPolicy) throws(ServerError) {
        try configuration.validate()
        StderrWriter.prepare()
        self.configuration = configuration
        loop = try EventLoop()
        if let file = configuration.logging.file { try LogFile.redirectStderr(to: file) }
        let logger = Logger(level: configuration.logLevel, format: configuration.logging.format)
        let backend: ChannelBackend = switch configuration.backend {
        case .memory: MemoryBackend(loop: loop, logger: logger, maxMemory: configuration.hardening.maxMemory)
        case .redis: RedisBackend(loop: loop, logger: logger, endpoint: configuration.redis,
                                  timeout: configuration.redisTimeout, windowSize: configuration.defaultBufferSize,
                                  ha: configuration.redisHA)
        }
        let policy = try makePolicy(loop)
        context = ServerContext(loop: loop, configuration: configuration, logger: logger, backend: backend, policy: policy)
        router = RequestRouter(context: context)
        loadStateFile()
        try listen()
    }

    deinit {
        for event in signalEvents { event_free(event) }
        // Everything holding a libevent event must go while the loop's event_base is alive: the
        // properties are destroyed after this body, and the loop may be freed first (a timer
        // freed after its base hung the process at exit, in event_free's lock).
        drainTimer = nil
        drainCheck = nil
        listener = nil
        adminListener = nil
    }

    public var logger: Logger { context.logger }
    public var backendName: String {
        configuration.backend == .redis ? "redis at \(configuration.redis)" : context.backend.name
    }

    /// Runs until `stop()`.
    public func run() {
        loop.run()
        saveStateFile()
    }

    /// Stops the loop; safe from any thread.
    public func stop() {
        loop.stop()
    }

    private func listen() throws(ServerError) {
        Self.raiseFileLimit()
        signal(SIGPIPE, SIG_IGN)
        let context = self.context
        let router = self.router
        listener = try Listener(context: context, host: configuration.host, port: configuration.port,
                                reusePort: configuration.operations.reusePort, label: "public") { fd in
            FirehoseServer.serve(fd, context: context, router: router)
        }
        boundHost = listener!.boundHost
        boundPort = listener!.boundPort
        if let adminHost = configuration.operations.adminHost {
            let admin = AdminRouter(context: context)
            adminRouter = admin
            adminListener = try Listener(context: context, host: adminHost, port: configuration.operations.adminPort,
                                         reusePort: false, label: "admin") { fd in
                FirehoseServer.serve(fd, context: context, router: admin)
            }
        }
    }

    private static func serve(_ fd: Int32, context: ServerContext, router: HTTPRequestRouting) {
        guard let bev = bufferevent_socket_new(context.loop.base.raw, fd, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)) else {
            close(fd)
            return
        }
        HTTPConnection(context: context, router: router, bev: BufferEvent(raw: bev)).start()
    }

    /// Lets the process hold as many sockets as the hard limit allows (long-poll servers hold many).
    private static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
