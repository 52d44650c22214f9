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
    private var listener: OpaquePointer?
    private var acceptRetry: LoopTimer?
    fileprivate var signalEvents: [OpaquePointer?] = []
    /// The address actually bound (the port is the real one when 0 was asked for).
    public private(set) var boundHost = ""
    public private(set) var boundPort = 0

    public convenience init(configuration: ServerConfiguration) throws(ServerError) {
        try self.init(configuration: configuration, policy: AllowAllPolicy())
    }

    /// With a given access policy (the configured one is built from `configuration` otherwise).
    init(configuration: ServerConfiguration, policy: AccessPolicy) throws(ServerError) {
        try configuration.validate()
        StderrWriter.prepare()
        self.configuration = configuration
        loop = try EventLoop()
        let logger = Logger(level: configuration.logLevel)
        let backend: ChannelBackend = switch configuration.backend {
        case .memory: MemoryBackend(loop: loop, logger: logger, maxMemory: configuration.hardening.maxMemory)
        case .redis: RedisBackend(loop: loop, logger: logger, endpoint: configuration.redis,
                                  timeout: configuration.redisTimeout, windowSize: configuration.defaultBufferSize)
        }
        context = ServerContext(loop: loop, configuration: configuration, logger: logger, backend: backend, policy: policy)
        router = RequestRouter(context: context)
        loadStateFile()
        try listen()
    }

    deinit {
        for event in signalEvents { event_free(event) }
        if let listener { evconnlistener_free(listener) }
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
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var resolved: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(configuration.host, String(configuration.port), &hints, &resolved)
        guard status == 0, let first = resolved else {
            throw .startup("cannot resolve \(configuration.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(resolved) }
        let me = Unmanaged.passUnretained(self).toOpaque()
        let flags = UInt32(LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC)
        listener = evconnlistener_new_bind(loop.base.raw, { _, fd, _, _, context in
            Unmanaged<FirehoseServer>.fromOpaque(context!).takeUnretainedValue().accept(fd)
        }, me, flags, 4096, first.pointee.ai_addr, Int32(first.pointee.ai_addrlen))
        guard let listener else {
            throw .startup("cannot listen on \(configuration.host):\(configuration.port): \(String(cString: strerror(errno)))")
        }
        evconnlistener_set_error_cb(listener) { listener, context in
            Unmanaged<FirehoseServer>.fromOpaque(context!).takeUnretainedValue().acceptFailed()
        }
        (boundHost, boundPort) = SocketAddress.local(of: evconnlistener_get_fd(listener))
    }

    private func accept(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        evutil_make_socket_nonblocking(fd)
        guard let bev = bufferevent_socket_new(loop.base.raw, fd, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)) else {
            close(fd)
            return
        }
        HTTPConnection(context: context, router: router, bev: BufferEvent(raw: bev)).start()
    }

    /// Accepting failed (usually: out of file descriptors). Pause accepting briefly instead of
    /// spinning on the error; open connections keep being served.
    private func acceptFailed() {
        let reason = String(cString: strerror(errno))
        context.logLimited(.error, "accept failed", "accept failed: \(reason); pausing new connections for 100 ms (\(context.openConnections) open)")
        guard let listener else { return }
        evconnlistener_disable(listener)
        if acceptRetry == nil {
            acceptRetry = LoopTimer(loop: loop) { [unowned self] in
                if let listener = self.listener { evconnlistener_enable(listener) }
            }
        }
        acceptRetry?.schedule(after: 0.1)
    }

    /// Lets the process hold as many sockets as the hard limit allows (long-poll servers hold many).
    private static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

extension FirehoseServer {
    /// Stops the loop cleanly on SIGINT and SIGTERM.
    public func stopOnSignals() {
        for number in [SIGINT, SIGTERM] {
            let event = event_new(loop.base.raw, number, Int16(EV_SIGNAL | EV_PERSIST), { signal, _, context in
                let server = Unmanaged<FirehoseServer>.fromOpaque(context!).takeUnretainedValue()
                server.logger.info("signal \(signal): shutting down")
                server.stop()
            }, Unmanaged.passUnretained(self).toOpaque())
            event_add(event, nil)
            signalEvents.append(event)
        }
    }
}
