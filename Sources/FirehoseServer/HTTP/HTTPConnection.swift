import CLibevent
import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// A request that has been accepted but not yet answered: a held long-poll, or a publish waiting
/// for its backend. The connection owns it until it answers or the connection goes away.
protocol PendingResponse: AnyObject {
    /// The client went away (or the server is closing it): stop waiting, release everything, and
    /// never touch the connection again.
    func cancel()
    /// The hold's deadline passed (only for holds given a timeout queue).
    func timedOut()
}

/// One client TCP connection speaking HTTP/1.x: reads requests in order with keep-alive and
/// pipelining, answers each exactly once, holds long-polls without a timer of their own, and closes
/// idle or misbehaving clients. Loop thread only. Keeps itself alive while its socket is open.
final class HTTPConnection: DeadlineNode, HTTPRequestParserDelegate, DeferredWork {
    unowned let context: ServerContext
    private(set) var bev: OpaquePointer?
    private let parser: HTTPRequestParser
    private var pending: PendingResponse?
    /// Whether the request being answered lets the connection stay open afterwards.
    private var keepAliveAfterResponse = true
    private var closeWhenFlushed = false
    /// After refusing a request, the client may still be sending it: keep reading (and discarding)
    /// for a moment after our answer so that closing does not reset the socket and lose the answer.
    private var lingerAfterFlush = false
    private var lingering = false
    private var outputBlocked = false
    private var isProcessing = false
    /// Our own read event (see `start`), and whether reading is on, and paused for a full input.
    private var readEvent: OpaquePointer?
    private var readingEnabled = false
    private var inputFull = false

    init(context: ServerContext, bev: OpaquePointer) {
        self.context = context
        self.bev = bev
        parser = HTTPRequestParser(maxHeaderBytes: context.configuration.maxHeaderBytes,
                                   maxBodyBytes: context.configuration.maxBodyBytes)
        super.init()
        parser.delegate = self
    }

    /// Starts reading. From here until `close`, the connection retains itself.
    func start() {
        guard let bev else { return }
        _ = Unmanaged.passRetained(self)
        let me = Unmanaged.passUnretained(self).toOpaque()
        bufferevent_setcb(bev, nil, { _, context in
            Unmanaged<HTTPConnection>.fromOpaque(context!).takeUnretainedValue().drained()
        }, { _, events, context in
            Unmanaged<HTTPConnection>.fromOpaque(context!).takeUnretainedValue().event(events)
        }, me)
        // The bufferevent writes; reading is ours. libevent's own read asks the kernel how much
        // is waiting (ioctl FIONREAD) before every read: one syscall in three per long-poll round
        // trip. A plain `recv` into the loop's buffer does the same job in one.
        bufferevent_enable(bev, Int16(EV_WRITE))
        // A socket bufferevent keeps the end of its input frozen against outside additions; we
        // are its reader now (refrozen in `detach` before WebSocket reading takes over).
        evbuffer_unfreeze(bufferevent_get_input(bev), 0)
        readEvent = event_new(context.loop.base, bufferevent_getfd(bev), Int16(EV_READ | EV_PERSIST), { _, _, context in
            Unmanaged<HTTPConnection>.fromOpaque(context!).takeUnretainedValue().socketReadable()
        }, me)
        setReading(true)
        context.idleQueue.schedule(self)
    }

    private func setReading(_ on: Bool) {
        guard let readEvent, on != readingEnabled else { return }
        readingEnabled = on
        if on, !inputFull { event_add(readEvent, nil) } else if !on { event_del(readEvent) }
    }

    private func socketReadable() {
        guard let bev else { return }
        let input = bufferevent_get_input(bev)
        // Bounded input: a client cannot make us buffer more than this ahead of the parser.
        let room = context.configuration.readHighWatermark - evbuffer_get_length(input)
        guard room > 0 else {
            inputFull = true
            event_del(readEvent)
            return
        }
        let buffer = context.loop.readBuffer
        let count = recv(bufferevent_getfd(bev), buffer.baseAddress, min(room, buffer.count), 0)
        if count > 0 {
            evbuffer_add(input, buffer.baseAddress, count)
            readable()
        } else if count == 0 {
            setReading(false)
            event(Int16(BEV_EVENT_EOF | BEV_EVENT_READING))
        } else if errno != EAGAIN, errno != EINTR {
            setReading(false)
            event(Int16(BEV_EVENT_ERROR | BEV_EVENT_READING))
        }
    }

    /// Reading resumes once the parser has made room again.
    private func resumeIfDrained() {
        guard inputFull, let bev, let readEvent,
              evbuffer_get_length(bufferevent_get_input(bev)) < context.configuration.readHighWatermark else { return }
        inputFull = false
        if readingEnabled { event_add(readEvent, nil) }
    }

    private func freeReadEvent() {
        if let readEvent { event_free(readEvent) }
        readEvent = nil
        readingEnabled = false
    }

    // MARK: answering

    /// Answers the request in flight. Valid once per request, synchronously from a handler or
    /// later from a `PendingResponse`.
    func respond(_ status: HTTPStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        guard let bev else { return }
        let head = ResponseHead(status: status, contentLength: body.count, headers: headers, keepAlive: keepAliveAfterResponse)
        OutputBuffer.write(head.encoded() + body, to: bev)
        responseWritten()
    }

    /// Answers with a shared, pre-encoded body (a message frame): queued by reference, not copied,
    /// when it is large enough for that to pay off.
    func respond(_ status: HTTPStatus, headers: [(String, String)] = [], shared body: SharedBytes) {
        guard let bev else { return }
        let head = ResponseHead(status: status, contentLength: body.count, headers: headers, keepAlive: keepAliveAfterResponse)
        OutputBuffer.write(head.encoded(), then: body, to: bev)
        responseWritten()
    }

    /// Whether the response to the request in flight keeps the connection open.
    var keepsAlive: Bool { keepAliveAfterResponse }

    /// Answers with a complete response encoded once for many connections (see `Message`).
    func respond(encoded response: SharedBytes) {
        guard let bev else { return }
        OutputBuffer.write(response, to: bev)
        responseWritten()
    }

    /// Parks the request in flight until `pending` answers it with `respond`. With a `timeout`
    /// queue, `pending.timedOut()` runs when its deadline passes.
    func hold(_ pending: PendingResponse, timeout: DeadlineQueue?) {
        self.pending = pending
        if let timeout { timeout.schedule(self) } else { cancelDeadline() }
    }

    var isOpen: Bool { bev != nil }

    private func responseWritten() {
        pending = nil
        guard let bev else { return }
        let queued = evbuffer_get_length(bufferevent_get_output(bev))
        if !keepAliveAfterResponse {
            closeWhenFlushed = true
            setReading(false)
            // Sent straight to the socket already: libevent will not report a drained buffer.
            if queued == 0 {
                drained()
                return
            }
        } else {
            context.idleQueue.schedule(self)
        }
        if queued > context.configuration.writeHighWatermark {
            outputBlocked = true  // a pipelining client that does not read: stop reading its requests
        }
        // A held request answered from a delivery: resume parsing later, not inside the publish.
        if !isProcessing { context.loop.defer(self) }
    }

    func runDeferred() { processInput() }

    // MARK: reading

    private func readable() {
        if lingering {
            if let bev { evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev))) }
            return
        }
        if pending == nil { context.idleQueue.schedule(self) }
        processInput()
    }

    private func processInput() {
        guard let bev, !isProcessing else { return }
        isProcessing = true
        defer {
            isProcessing = false
            resumeIfDrained()
        }
        let input = bufferevent_get_input(bev)
        while self.bev != nil, pending == nil, !closeWhenFlushed, !outputBlocked {
            var chunk = iovec()
            guard evbuffer_peek(input, -1, nil, &chunk, 1) > 0, chunk.iov_len > 0 else { break }
            let outcome = parser.execute(UnsafeRawBufferPointer(start: chunk.iov_base, count: chunk.iov_len))
            switch outcome {
            case let .needMore(consumed):
                if consumed > 0 {
                    evbuffer_drain(input, consumed)
                } else {
                    // The request line's first token straddles two chunks: join a little and retry.
                    let total = evbuffer_get_length(input)
                    guard total > chunk.iov_len else { return }
                    evbuffer_pullup(input, min(total, 64))
                    if evbuffer_get_length(input) <= chunk.iov_len { return }
                }
            case let .complete(consumed):
                evbuffer_drain(input, consumed)
                let request = parser.takeRequest()
                keepAliveAfterResponse = request.keepAlive
                context.router.route(request, on: self)
            case let .failed(status, reason):
                reject(status, reason: reason)
                return
            }
        }
    }

    /// Answers a request that could not be parsed, then closes: after a framing error the rest of
    /// the stream cannot be trusted.
    private func reject(_ code: HTTPStatusCode, reason: String) {
        context.logger.info("\(peerDescription): \(reason); closing")
        keepAliveAfterResponse = false
        lingerAfterFlush = true
        let status: HTTPStatus = switch code {
        case .payloadTooLarge: .payloadTooLarge
        case .headersTooLarge: .headersTooLarge
        case .badRequest: .badRequest
        }
        let body: String = switch code {
        case .payloadTooLarge: "Request body too large (limit \(context.configuration.maxBodyBytes) bytes)"
        case .headersTooLarge: "Request headers too large (limit \(context.configuration.maxHeaderBytes) bytes)"
        case .badRequest: "Bad Request"
        }
        respond(status, headers: [("Content-Type", "text/plain")], body: Array(body.utf8))
    }

    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    func requestHeadersComplete(_ request: HTTPRequest) -> HeadersVerdict {
        // Expect: 100-continue from an HTTP/1.1 client: invite the body now rather than make the
        // client wait a second for nothing (the body size was already checked against the limit).
        if request.versionMajor == 1, request.versionMinor >= 1,
           let expect = request.value(.expect), expect.lowercased() == "100-continue", let bev {
            OutputBuffer.add(HTTPConnection.continueLine, to: bufferevent_get_output(bev))
        }
        return .proceed
    }

    // MARK: writing and closing

    private func drained() {
        if closeWhenFlushed, lingerAfterFlush, !lingering, let bev {
            // Half-close: the client reads our answer to the end, then closes; we discard what it
            // still sends until then, for at most the linger time.
            lingering = true
            shutdown(bufferevent_getfd(bev), Int32(SHUT_WR))
            setReading(true)
            context.lingerQueue.schedule(self)
        } else if closeWhenFlushed {
            if !lingering { close() }
        } else if outputBlocked {
            outputBlocked = false
            processInput()
        }
    }

    private func event(_ events: Int16) {
        if events & Int16(BEV_EVENT_ERROR) != 0 {
            context.logger.debug("\(peerDescription): socket error \(errno); closing")
            close()
        } else if events & Int16(BEV_EVENT_EOF) != 0, lingering {
            close()
        } else if events & Int16(BEV_EVENT_EOF) != 0 {
            // The client closed (or half-closed) its side. A waiting request is abandoned at once;
            // answers already queued are still delivered before the socket closes.
            if pending != nil || bev.map({ evbuffer_get_length(bufferevent_get_output($0)) }) == 0 {
                close()
            } else {
                closeWhenFlushed = true
            }
        }
    }

    override func deadlineExpired() {
        if lingering {
            close()
        } else if let pending {
            pending.timedOut()
        } else {
            context.logger.debug("\(peerDescription): idle for \(context.configuration.idleTimeout) s; closing")
            close()
        }
    }

    /// Closes the socket now, cancelling whatever the connection was waiting for.
    func close() {
        guard let bev else { return }
        cancelDeadline()
        let abandoned = pending
        pending = nil
        abandoned?.cancel()
        self.bev = nil
        freeReadEvent()
        bufferevent_free(bev)
        context.connectionClosed()
        Unmanaged.passUnretained(self).release()
    }

    /// Stops reading HTTP from the socket and gives it to another protocol (WebSocket), with any
    /// bytes the client already sent behind its request still in the input buffer.
    func detach() -> OpaquePointer? {
        guard let bev else { return nil }
        cancelDeadline()
        self.bev = nil
        freeReadEvent()
        evbuffer_freeze(bufferevent_get_input(bev), 0)
        bufferevent_setcb(bev, nil, nil, nil, nil)
        context.connectionClosed()
        Unmanaged.passUnretained(self).release()
        return bev
    }

    /// The response to the request in flight will be the last on this connection (after an
    /// upgrade request the HTTP parser cannot go on).
    func closeAfterResponse() {
        keepAliveAfterResponse = false
    }

    var peerDescription: String {
        guard let bev else { return "closed connection" }
        return SocketAddress.peer(of: bufferevent_getfd(bev))
    }
}
