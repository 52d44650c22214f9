internal import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// The life of one client socket, shared by every connection class (HTTP, WebSocket): it keeps
/// itself alive while the socket is open, ends either at once (`close`) or once its output has
/// been sent (`closeWhenFlushed`), and can linger: half-close our side and keep reading (and
/// discarding) for a moment, so that a client still sending does not get a reset that destroys the
/// answer it has not read yet. Every state has a deadline in some `DeadlineQueue`. Loop thread only.
class SocketConnection: DeadlineNode {
    private(set) var bev: BufferEvent?
    /// Ending: no more input is handled, and the socket closes (or lingers) once output is sent.
    private(set) var closeWhenFlushed = false
    private var lingerAfterFlush = false
    /// Half-closed, discarding input until the client closes or `lingerQueue`'s deadline passes.
    private(set) var lingering = false
    private unowned let lingerQueue: DeadlineQueue
    /// Links in the server's `ConnectionRegistry` while open (see `retainWhileOpen`).
    unowned(unsafe) var registry: ConnectionRegistry?
    unowned(unsafe) var registryNext: SocketConnection?
    unowned(unsafe) var registryPrevious: SocketConnection?
    /// Bounds `closeWhenFlushed`: a client that stops reading must not keep a closing socket open.
    private unowned let flushQueue: DeadlineQueue

    init(bev: BufferEvent, lingerQueue: DeadlineQueue, flushQueue: DeadlineQueue) {
        self.bev = bev
        self.lingerQueue = lingerQueue
        self.flushQueue = flushQueue
        super.init()
    }

    /// From here until `close`, the connection retains itself (the loop's C callbacks hold it by
    /// an unretained pointer), and is listed in `registry` (the drain reaches it there).
    final func retainWhileOpen(in registry: ConnectionRegistry) {
        _ = Unmanaged.passRetained(self)
        registry.insert(self)
    }

    final var isOpen: Bool { bev != nil }

    /// Bytes queued for the client and not yet taken by the socket.
    var queuedBytes: Int { bev?.output.count ?? 0 }

    /// Ends the connection once everything queued has been sent: then lingers (`linger`) or closes.
    final func closeAfterFlush(linger: Bool) {
        guard bev != nil, !closeWhenFlushed else { return }
        closeWhenFlushed = true
        lingerAfterFlush = linger
        willEnd()
        if queuedBytes == 0 {
            flushedForClose()
        } else if isOpen, !lingering {
            // Whatever deadline the connection had (a WebSocket's ping, an HTTP idle timer), from
            // now on only this one ends it.
            flushQueue.schedule(self)
        }
    }

    /// To be called when the socket's output buffer has drained. Returns true when the connection
    /// was waiting for that to end.
    final func outputDrained() -> Bool {
        guard closeWhenFlushed else { return false }
        flushedForClose()
        return true
    }

    private func flushedForClose() {
        if lingerAfterFlush { startLingering() } else if !lingering { close() }
    }

    private func startLingering() {
        guard let bev, !lingering else { return }
        lingering = true
        shutdown(bev.fd, Int32(SHUT_WR))
        lingeringStarted()
        lingerQueue.schedule(self)
    }

    override final func deadlineExpired() {
        if lingering || closeWhenFlushed { close() } else { deadlinePassed() }
    }

    /// Closes the socket now; `willClose` cancels whatever the subclass was doing first.
    func close() {
        guard let bev else { return }
        cancelDeadline()
        willClose()
        self.bev = nil
        bev.free()
        didClose()
        registry?.remove(self)
        Unmanaged.passUnretained(self).release()
    }

    /// Gives up the socket without closing it (an upgrade hands it to another connection class).
    final func detachSocket() -> BufferEvent? {
        guard let bev else { return nil }
        cancelDeadline()
        willClose()
        self.bev = nil
        didClose()
        registry?.remove(self)
        Unmanaged.passUnretained(self).release()
        return bev
    }

    var peerDescription: String {
        guard let bev else { return "closed connection" }
        return SocketAddress.peer(of: bev.fd)
    }

    // MARK: for subclasses

    /// The connection's own deadline passed (idle, long-poll, ping): not the linger deadline.
    func deadlinePassed() {}
    /// `closeAfterFlush` was called: stop taking input and cancel subscriptions.
    func willEnd() {}
    /// Lingering began: keep reading so that the client's bytes are consumed and dropped.
    func lingeringStarted() {}
    /// The socket is about to close or be handed over: release everything tied to it.
    func willClose() {}
    /// The socket is gone (closed or handed over): update counters.
    func didClose() {}
    /// The server is draining (SIGTERM): end what this connection is doing in the way its protocol
    /// lets a client go elsewhere, then close. Called once per connection; must be idempotent.
    func drainForShutdown() {}
}
