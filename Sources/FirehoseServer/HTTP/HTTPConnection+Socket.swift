internal import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// How an `HTTPConnection` registers its socket with the loop: its own edge-triggered read event,
/// and the bufferevent's writing switched on only while bytes wait in the output buffer.
///
/// Why edge-triggered: epoll then reports a socket once per arrival, at the back of its ready
/// list, so connections are served in the order their bytes came. Level-triggered, a connection
/// just served is put back at the front of the list and, if its next request is already there, is
/// served again before connections that have waited longer. With 4 to 16 publishers in a closed
/// loop that split the publishes in two: a fifth to a third of them took twice the round trip of
/// the rest (`ws100ch`, 8 publishers: p90 0.137 ms against p50 0.068; edge-triggered p90 0.082).
///
/// Why writing only on demand: libevent registers all of a socket's events with one `epoll_ctl`,
/// and its write event is level-triggered, so every time it is added or removed the read side
/// loses its edge trigger. Writes go straight to the socket (`OutputBuffer`), so the write event
/// is needed only while output is queued; once libevent has sent it, the read event is registered
/// again, edge-triggered.
extension HTTPConnection {
    /// Starts reading (and watching the output buffer). Called once, from `start`.
    func startSocketEvents(_ bev: BufferEvent) {
        // libevent's own read asks the kernel how much is waiting (ioctl FIONREAD) before every
        // read: one syscall in three per long-poll round trip. A plain `recv` into the loop's
        // buffer does the same job in one. A socket bufferevent keeps the end of its input frozen
        // against outside additions; we are its reader now (refrozen in `detach`).
        evbuffer_unfreeze(bev.input.raw, 0)
        let me = Unmanaged.passUnretained(self).toOpaque()
        readEvent = event_new(context.loop.base.raw, bev.fd, Int16(EV_READ | EV_PERSIST | EV_ET), { _, _, context in
            Unmanaged<HTTPConnection>.fromOpaque(context!).takeUnretainedValue().socketReadable()
        }, me)
        outputWatch = evbuffer_add_cb(bev.output.raw, { _, info, context in
            guard let info else { return }
            let connection = Unmanaged<HTTPConnection>.fromOpaque(context!).takeUnretainedValue()
            if info.pointee.n_added > 0 { connection.outputQueued() }
            if info.pointee.n_deleted > 0 { connection.outputSent() }
        }, me)
        setReading(true)
    }

    /// This connection publishes: its reads go ahead of subscribers' (`EventLoop.lowPriorityBatch`),
    /// so the next publish is read between slices of a fan-out's re-polls, not after all of them.
    func prioritizeReads() {
        guard !readsPrioritized, let readEvent else { return }
        readsPrioritized = EventLoop.prioritize(readEvent)
    }

    /// Before the socket closes or is handed over: no callback may reach this object afterwards.
    func stopSocketEvents() {
        if let readEvent { event_free(readEvent) }
        readEvent = nil
        readingEnabled = false
        if let outputWatch, let bev { evbuffer_remove_cb_entry(bev.output.raw, outputWatch) }
        outputWatch = nil
    }

    func setReading(_ on: Bool) {
        guard let readEvent, on != readingEnabled else { return }
        readingEnabled = on
        // Adding the event makes epoll check the socket at once: bytes that came while reading
        // was off are reported, though no new edge will come for them.
        if on, !inputFull { event_add(readEvent, nil) } else if !on { event_del(readEvent) }
    }

    /// Reads until the socket is drained (a read shorter than asked, or EAGAIN), the input bound
    /// is reached, or the connection stops reading (closed, handed to a WebSocket, paused):
    /// edge-triggered, nothing is reported again for bytes already waiting.
    private func socketReadable() {
        let buffer = context.loop.readBuffer
        while let bev, readingEnabled, !inputFull {
            let input = bev.input
            // Bounded input: a client cannot make us buffer more than this ahead of the parser.
            let room = context.configuration.readHighWatermark - input.count
            guard room > 0 else {
                inputFull = true
                event_del(readEvent)
                return
            }
            let asked = min(room, buffer.count)
            let count = recv(bev.fd, buffer.baseAddress, asked, 0)
            if count > 0 {
                input.add(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
                readable()
                if count < asked { return }
            } else if count == 0 {
                setReading(false)
                event(Int16(BEV_EVENT_EOF | BEV_EVENT_READING))
                return
            } else if errno == EINTR {
                continue
            } else {
                if errno != EAGAIN {
                    setReading(false)
                    event(Int16(BEV_EVENT_ERROR | BEV_EVENT_READING))
                }
                return
            }
        }
    }

    /// Reading resumes once the parser has made room again.
    func resumeIfDrained() {
        guard inputFull, let bev, let readEvent, bev.input.count < context.configuration.readHighWatermark else { return }
        inputFull = false
        if readingEnabled { event_add(readEvent, nil) }
    }

    /// Bytes were queued behind what the socket took: libevent sends them when it can.
    private func outputQueued() {
        guard !writing, let bev else { return }
        writing = true
        bufferevent_enable(bev.raw, Int16(EV_WRITE))
    }

    /// libevent sent some of what was queued. A connection waiting for its next request while a
    /// large answer is still going out is not idle: its idle deadline counts from the last bytes
    /// the client took. (It used to count from the answer's start: a client reading a large
    /// message more slowly than `--idle-timeout` was cut off, and the unsent rest dropped.)
    private func outputSent() {
        if isWaiting(in: context.idleQueue) { context.idleQueue.schedule(self) }
    }

    /// libevent has sent everything queued (the bufferevent's write callback): its write event is
    /// gone, and with it the read event's edge trigger, which is registered again.
    func outputFlushed() {
        guard writing, let bev else { return }
        writing = false
        bufferevent_disable(bev.raw, Int16(EV_WRITE))
        if readingEnabled, !inputFull, let readEvent {
            event_del(readEvent)
            event_add(readEvent, nil)
        }
    }
}
