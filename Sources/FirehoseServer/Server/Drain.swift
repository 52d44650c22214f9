internal import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// The graceful stop. On the first SIGTERM or SIGINT: readiness answers 503 at once (the admin
/// listener's `/ready`, `/health@firehose` and `HEAD` on connections still open), the public
/// listener closes, every held long-poll gets its 204, every WebSocket closes with 1001, every
/// SSE stream ends, requests in progress (publishes) are answered, and each connection closes
/// after its last answer. The loop stops when no connection is left, or after `drainTimeout`;
/// a second signal stops it at once. Clients reconnect elsewhere and resume by sequence.
extension FirehoseServer {
    /// Drains on SIGINT and SIGTERM (see above); on SIGHUP reopens `--log-file`.
    public func stopOnSignals() {
        let hangup = event_new(loop.base.raw, SIGHUP, Int16(EV_SIGNAL | EV_PERSIST), { _, _, context in
            Unmanaged<FirehoseServer>.fromOpaque(context!).takeUnretainedValue().reopenLog()
        }, Unmanaged.passUnretained(self).toOpaque())
        event_add(hangup, nil)
        signalEvents.append(hangup)
        for number in [SIGINT, SIGTERM] {
            let event = event_new(loop.base.raw, number, Int16(EV_SIGNAL | EV_PERSIST), { signal, _, context in
                let server = Unmanaged<FirehoseServer>.fromOpaque(context!).takeUnretainedValue()
                server.signalled(signal)
            }, Unmanaged.passUnretained(self).toOpaque())
            event_add(event, nil)
            signalEvents.append(event)
        }
    }

    private func reopenLog() {
        guard let file = configuration.logging.file else {
            logger.info("SIGHUP: no --log-file to reopen")
            return
        }
        do {
            try LogFile.redirectStderr(to: file)
            logger.info("SIGHUP: reopened \(file)")
        } catch {
            logger.error("SIGHUP: \(error); logging where it did before")
        }
    }

    /// Whether the drain has begun.
    public var isDraining: Bool { context.draining }

    private func signalled(_ signal: Int32) {
        if context.draining {
            logger.warn("signal \(signal) during the drain: exiting now with \(context.connections.count) connections open")
            stop()
            return
        }
        logger.info("signal \(signal): draining")
        beginDrain()
    }

    /// Starts the drain; loop thread only (tests call it through `loop.execute`).
    func beginDrain() {
        guard !context.draining else { return }
        context.draining = true  // readiness is 503 from here, before the listener closes
        listener?.close()
        let timeout = configuration.operations.drainTimeout
        let open = context.connections.snapshot()
        logger.info("draining \(open.count) connections (\(context.longPollQueue.count) waiting long-polls, \(context.openWebSockets) WebSockets); exiting when all are gone or in \(timeout) s")
        drainTimer = LoopTimer(loop: loop) { [unowned self] in
            self.logger.warn("drain timeout (\(timeout) s) passed with \(self.context.connections.count) connections open; exiting")
            self.stop()
        }
        drainTimer?.schedule(after: timeout)
        // Checked a loop turn after the registry empties: an upgrade leaves it empty for a moment
        // between the HTTP connection and its WebSocket.
        drainCheck = LoopTimer(loop: loop) { [unowned self] in
            guard self.context.connections.count == 0 else { return }
            self.logger.info("drained: every connection closed; exiting")
            self.stop()
        }
        context.connections.becameEmpty = { [unowned self] in self.drainCheck?.schedule(after: 0) }
        for connection in open { connection.drainForShutdown() }
        if context.connections.count == 0 { drainCheck?.schedule(after: 0) }
    }
}
