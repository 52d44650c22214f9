internal import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// One listening socket on the loop (the public port, the admin port): hands each accepted,
/// non-blocking socket to `accepted`, and pauses briefly instead of spinning when accepting fails.
/// Loop thread only.
final class Listener {
    private var raw: OpaquePointer?
    private unowned let context: ServerContext
    private let accepted: (Int32) -> Void
    private var acceptRetry: LoopTimer?
    private let label: String
    /// The address actually bound (the port is the real one when 0 was asked for).
    let boundHost: String
    let boundPort: Int

    init(context: ServerContext, host: String, port: Int, reusePort: Bool, label: String,
         accepted: @escaping (Int32) -> Void) throws(ServerError) {
        self.context = context
        self.accepted = accepted
        self.label = label
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var resolved: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &resolved)
        guard status == 0, let first = resolved else {
            throw .startup("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(resolved) }
        var flags = UInt32(LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC)
        if reusePort { flags |= UInt32(LEV_OPT_REUSEABLE_PORT) }
        // Bound before `self` is complete: the callback context is set right after.
        let listener = evconnlistener_new_bind(context.loop.base.raw, nil, nil, flags, 4096,
                                               first.pointee.ai_addr, Int32(first.pointee.ai_addrlen))
        guard let listener else {
            throw .startup("cannot listen on \(host):\(port) (\(label)): \(String(cString: strerror(errno)))")
        }
        raw = listener
        (boundHost, boundPort) = SocketAddress.local(of: evconnlistener_get_fd(listener))
        let me = Unmanaged.passUnretained(self).toOpaque()
        evconnlistener_set_cb(listener, { _, fd, _, _, context in
            Unmanaged<Listener>.fromOpaque(context!).takeUnretainedValue().accept(fd)
        }, me)
        evconnlistener_set_error_cb(listener) { _, context in
            Unmanaged<Listener>.fromOpaque(context!).takeUnretainedValue().acceptFailed()
        }
    }

    deinit { close() }

    var isOpen: Bool { raw != nil }

    /// Stops accepting and closes the listening socket: new connections are refused by the kernel.
    func close() {
        acceptRetry?.cancel()
        if let raw { evconnlistener_free(raw) }
        raw = nil
    }

    private func accept(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        evutil_make_socket_nonblocking(fd)
        accepted(fd)
    }

    /// Accepting failed (usually: out of file descriptors). Pause accepting briefly instead of
    /// spinning on the error; open connections keep being served.
    private func acceptFailed() {
        let reason = String(cString: strerror(errno))
        context.logger.error("accept failed (\(label)): \(reason); pausing new connections for 100 ms (\(context.openConnections) open)")
        guard let raw else { return }
        evconnlistener_disable(raw)
        if acceptRetry == nil {
            acceptRetry = LoopTimer(loop: context.loop) { [unowned self] in
                if let raw = self.raw { evconnlistener_enable(raw) }
            }
        }
        acceptRetry?.schedule(after: 0.1)
    }
}
