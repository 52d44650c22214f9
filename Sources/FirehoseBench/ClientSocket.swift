import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// What a client socket reports to its owner. Called on the loop thread.
protocol ClientSocketDelegate: AnyObject {
    func socketConnected(_ socket: ClientSocket)
    func socket(_ socket: ClientSocket, received bytes: UnsafeRawBufferPointer, at now: UInt64)
    /// `error` is 0 when the peer closed cleanly. The socket is already closed.
    func socketClosed(_ socket: ClientSocket, error: Int32)
}

/// A non-blocking TCP client socket on the bench loop: plain `read`/`send` and two libevent events,
/// nothing per socket beyond what is waiting to be sent.
final class ClientSocket {
    private unowned let loop: BenchLoop
    private weak var delegate: ClientSocketDelegate?
    private(set) var fd: Int32 = -1
    private var readEvent: OpaquePointer?
    private var writeEvent: OpaquePointer?
    private var pending: [UInt8] = []
    private var connecting = false

    init(loop: BenchLoop, delegate: ClientSocketDelegate) {
        self.loop = loop
        self.delegate = delegate
    }

    deinit { close(abort: true) }

    var isOpen: Bool { fd >= 0 }

    /// Starts connecting; the outcome arrives as `socketConnected` or `socketClosed`.
    /// Returns the errno of an immediate failure (out of descriptors, ...), 0 otherwise.
    func connect(to address: sockaddr_in) -> Int32 {
        precondition(fd < 0, "socket already open")
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var target = address
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        readEvent = event_new(loop.base, fd, Int16(EV_READ | EV_PERSIST), { _, _, context in
            Unmanaged<ClientSocket>.fromOpaque(context!).takeUnretainedValue().readable()
        }, context)
        writeEvent = event_new(loop.base, fd, Int16(EV_WRITE), { _, _, context in
            Unmanaged<ClientSocket>.fromOpaque(context!).takeUnretainedValue().writable()
        }, context)
        let failure = result == 0 ? 0 : errno
        // Reported from the loop (the socket is writable at once), never from inside `connect`.
        guard failure == 0 || failure == EINPROGRESS else {
            close(abort: true)
            return failure
        }
        connecting = true
        event_add(writeEvent, nil)
        return 0
    }

    private func loopConnected() {
        connecting = false
        delegate?.socketConnected(self)
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { send($0) }
    }

    func send(_ bytes: UnsafeRawBufferPointer) {
        guard fd >= 0, bytes.count > 0 else { return }
        if !pending.isEmpty || connecting {
            pending.append(contentsOf: bytes)
            return
        }
        let sent = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        if sent == bytes.count { return }
        if sent < 0, errno != EAGAIN { return }  // the read side reports the broken connection
        pending.append(contentsOf: bytes[max(0, sent)...])
        event_add(writeEvent, nil)
    }

    /// Closes at once. `abort` resets the connection (SO_LINGER 0): no TIME_WAIT left behind on
    /// the client side, which matters when a run opens tens of thousands of connections.
    func close(abort: Bool) {
        guard fd >= 0 else { return }
        if let readEvent { event_free(readEvent) }
        if let writeEvent { event_free(writeEvent) }
        readEvent = nil
        writeEvent = nil
        if abort {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        Glibc.close(fd)
        fd = -1
        pending.removeAll()
        connecting = false
    }

    private func readable() {
        let buffer = loop.readBuffer
        let count = read(fd, buffer.baseAddress, buffer.count)
        if count > 0 {
            delegate?.socket(self, received: UnsafeRawBufferPointer(rebasing: buffer[0..<count]), at: monotonicMicros())
        } else if count == 0 {
            fail(0)
        } else if errno != EAGAIN && errno != EINTR {
            fail(errno)
        }
    }

    private func writable() {
        if connecting {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 { return fail(error) }
            event_add(readEvent, nil)
            loopConnected()
            guard fd >= 0 else { return }
        }
        guard !pending.isEmpty else { return }
        let sent = pending.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        if sent > 0 { pending.removeFirst(sent) }
        if sent < 0, errno != EAGAIN { return fail(errno) }
        if !pending.isEmpty { event_add(writeEvent, nil) }
    }

    private func fail(_ error: Int32) {
        close(abort: error != 0)
        delegate?.socketClosed(self, error: error)
    }
}
