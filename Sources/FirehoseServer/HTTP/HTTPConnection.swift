internal import CLibevent
internal import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// A request that has been accepted but not yet answered: a held long-poll, a publish waiting for
/// its backend, or a streamed response. The connection owns it until it answers or the connection
/// goes away.
protocol PendingResponse: AnyObject {
    /// The client went away (or the server is closing it): stop waiting, release everything, and
    /// never touch the connection again.
    func cancel()
    /// The hold's deadline passed (only for holds given a timeout queue).
    func timedOut()
    /// The server is draining: end the wait now if the client can be sent elsewhere (a held
    /// long-poll answers 204, a stream ends); work in progress (a publish) just finishes.
    func serverDraining()
}

extension PendingResponse {
    func serverDraining() {}
}

/// One client TCP connection speaking HTTP/1.x: reads requests in order with keep-alive and
/// pipelining, answers each exactly once (or streams one response until the end), holds
/// long-polls without a timer of their own, and closes idle or misbehaving clients. Loop thread
/// only. Its socket's life (self-retain, lingering close) is `SocketConnection`'s.
final class HTTPConnection: SocketConnection, HTTPRequestParserDelegate, DeferredWork {
    unowned(unsafe) let context: ServerContext
    private unowned let router: any HTTPRequestRouting
    private let parser: HTTPRequestParser
    private var pending: PendingResponse?
    /// Whether the request being answered lets the connection stay open afterwards.
    private var keepAliveAfterResponse = true
    /// Whether the request being answered is HTTP/1.1 or later (chunked streams need it).
    private var requestIsHTTP11 = true
    /// After refusing a request, the client may still be sending it: linger after our answer.
    private var lingerOnClose = false
    private var outputBlocked = false
    private var isProcessing = false
    /// The response is a stream (see `startStream`): input is only watched for the client's close.
    private var streaming = false
    /// The socket's events (HTTPConnection+Socket.swift): our own read event, whether reading is
    /// on and paused for a full input, the output buffer's watch and whether libevent is writing.
    var readEvent: OpaquePointer?
    /// Whether `readEvent` runs ahead of ordinary events (a publisher's, `prioritizeReads`).
    var readsPrioritized = false
    var readingEnabled = false
    var inputFull = false
    var outputWatch: OpaquePointer?
    var writing = false
    /// The request being answered, for the access log (nil when it is off).
    var accessEntry: AccessLog.Entry?
    /// Bytes of a streamed response so far (for the access log).
    var streamedBytes = 0
    /// The deadline running is the request's (`requestQueue`), not the idle one: it started with
    /// the request's first byte and is not restarted by the next ones (slowloris).
    private var requestDeadline = false

    init(context: ServerContext, router: any HTTPRequestRouting, bev: BufferEvent) {
        self.context = context
        self.router = router
        parser = HTTPRequestParser(maxHeaderBytes: context.configuration.maxHeaderBytes,
                                   maxBodyBytes: context.configuration.maxBodyBytes)
        super.init(bev: bev, lingerQueue: context.lingerQueue, flushQueue: context.closeFlushQueue)
        parser.delegate = self
    }

    /// Starts reading. From here until `close`, the connection retains itself.
    func start() {
        guard let bev else { return }
        retainWhileOpen(in: context.connections)
        context.connectionOpened()
        let me = Unmanaged.passUnretained(self).toOpaque()
        bufferevent_setcb(bev.raw, nil, { _, context in
            Unmanaged<HTTPConnection>.fromOpaque(context!).takeUnretainedValue().drained()
        }, { _, events, context in
            Unmanaged<HTTPConnection>.fromOpaque(context!).takeUnretainedValue().event(events)
        }, me)
        startSocketEvents(bev)
        context.idleQueue.schedule(self)
    }

    // MARK: answering

    /// Answers the request in flight. Valid once per request, synchronously from a handler or
    /// later from a `PendingResponse`.
    func respond(_ status: HTTPStatus, headers: [(String, String)] = [], body: [UInt8] = []) {
        guard let bev else { return }
        let head = ResponseHead(status: status, contentLength: body.count, headers: headers, keepAlive: keepAliveAfterResponse)
        let encoded = head.encoded()
        if accessEntry != nil { logAccess(status: status.code, bytes: encoded.count + body.count) }
        OutputBuffer.write(encoded + body, to: bev)
        responseWritten()
    }

    /// Answers with a shared, pre-encoded body (the metrics document): queued by reference, not
    /// copied, when it is large enough for that to pay off.
    func respond(_ status: HTTPStatus, headers: [(String, String)] = [], shared body: SharedBytes) {
        guard let bev else { return }
        let head = ResponseHead(status: status, contentLength: body.count, headers: headers, keepAlive: keepAliveAfterResponse)
        let encoded = head.encoded()
        if accessEntry != nil { logAccess(status: status.code, bytes: encoded.count + body.count) }
        OutputBuffer.write(encoded, then: body, to: bev)
        responseWritten()
    }

    /// Answers with a message frame (an `EncodedMessage`: its body is shared and queued by
    /// reference, not copied, when it is large enough for that to pay off).
    func respond(_ status: HTTPStatus, headers: [(String, String)] = [], frame: EncodedMessage) {
        guard let bev else { return }
        let head = ResponseHead(status: status, contentLength: frame.count, headers: headers, keepAlive: keepAliveAfterResponse)
        let encoded = head.encoded() + frame.head
        if accessEntry != nil { logAccess(status: status.code, bytes: encoded.count + frame.body.count + frame.tail.count) }
        encoded.withUnsafeBytes { OutputBuffer.write(prefix: $0, frame.body, suffix: frame.tail, to: bev) }
        responseWritten()
    }

    /// Whether the response to the request in flight keeps the connection open.
    var keepsAlive: Bool { keepAliveAfterResponse }

    /// Answers with a complete `200` response encoded once for many connections (a
    /// `MessageFormat` whose head is the response head: `LongPollFormats`).
    func respond(encoded response: EncodedMessage) {
        guard let bev else { return }
        if accessEntry != nil { logAccess(status: HTTPStatus.ok.code, bytes: response.count) }
        OutputBuffer.write(response, to: bev)
        responseWritten()
    }

    /// Answers with a complete response encoded once for many connections (the publish's `202`).
    func respond(encoded response: SharedBytes) {
        guard let bev else { return }
        if accessEntry != nil {
            // "HTTP/1.1 202 ...": the status is the three digits after the version.
            let digits = response.bytes.dropFirst(9).prefix(3)
            logAccess(status: Int(String(decoding: digits, as: UTF8.self)) ?? 0, bytes: response.count)
        }
        OutputBuffer.write(response, to: bev)
        responseWritten()
    }

    private func logAccess(status: Int, bytes: Int) {
        guard let entry = accessEntry, let accessLog = context.accessLog else { return }
        accessEntry = nil
        accessLog.finish(entry, status: status, bytes: bytes, transport: pending is LongPollRequest ? "long_poll" : "http")
    }

    /// Parks the request in flight until `pending` answers it with `respond`. With a `timeout`
    /// queue, `pending.timedOut()` runs when its deadline passes.
    func hold(_ pending: PendingResponse, timeout: DeadlineQueue?) {
        self.pending = pending
        requestDeadline = false
        if let timeout { timeout.schedule(self) } else { cancelDeadline() }
        // A wait that began while draining ends at once (a long-poll gets its 204).
        if context.draining { pending.serverDraining() }
    }

    /// Forgets a hold without answering it: whoever took the request over answers (or holds) next.
    func releaseHold() {
        pending = nil
    }

    /// Answers the request in flight with a response of unknown length that `ResponseStream`
    /// writes piece by piece until either side ends it: chunked for HTTP/1.1, close-delimited for
    /// HTTP/1.0. The connection leaves the idle queue for `idleQueue` (the stream's heartbeat) and
    /// parses no further requests; what the client sends is discarded.
    func startStream(status: HTTPStatus, headers: [(String, String)], idleQueue: DeadlineQueue, maxQueuedBytes: Int,
                     delegate: ResponseStreamDelegate) -> ResponseStream? {
        guard let bev, !closeWhenFlushed else { return nil }
        let chunked = requestIsHTTP11
        let head = ResponseHead(status: status, contentLength: nil,
                                headers: headers + (chunked ? [("Transfer-Encoding", "chunked")] : []),
                                keepAlive: chunked && keepAliveAfterResponse)
        let encoded = head.encoded()
        OutputBuffer.write(encoded, to: bev)
        streamedBytes = encoded.count
        streaming = true
        let stream = ResponseStream(connection: self, chunked: chunked, idleQueue: idleQueue, maxQueuedBytes: maxQueuedBytes, delegate: delegate)
        hold(stream, timeout: idleQueue)
        return stream
    }

    /// Ends a stream (see `ResponseStream.finish`): the connection closes once its output is sent.
    func endStream() {
        pending = nil
        closeAfterFlush(linger: false)
    }

    private func responseWritten() {
        pending = nil
        guard bev != nil else { return }
        if !keepAliveAfterResponse {
            // Sent straight to the socket already, maybe: then libevent will not report a drain.
            closeAfterFlush(linger: lingerOnClose)
            return
        }
        startIdleDeadline()
        if queuedBytes > context.configuration.writeHighWatermark {
            outputBlocked = true  // a pipelining client that does not read: stop reading its requests
        }
        // A held request answered from a delivery: resume parsing later, not inside the publish.
        if !isProcessing { context.loop.defer(self) }
    }

    func runDeferred() { processInput() }

    // MARK: reading

    func readable() {
        if lingering || streaming {
            bev?.input.drainAll()
            return
        }
        if pending == nil, !requestDeadline {
            requestDeadline = true
            context.requestQueue.schedule(self)
        }
        processInput()
        // Between requests again, with nothing of the next one read: the idle timer runs.
        if pending == nil, isOpen, !closeWhenFlushed, !streaming, parser.atMessageStart, bev?.input.count == 0 {
            startIdleDeadline()
        }
    }

    private func startIdleDeadline() {
        requestDeadline = false
        context.idleQueue.schedule(self)
    }

    private func processInput() {
        guard let bev, !isProcessing else { return }
        isProcessing = true
        defer {
            isProcessing = false
            resumeIfDrained()
        }
        let input = bev.input
        while isOpen, pending == nil, !closeWhenFlushed, !outputBlocked, !streaming {
            var chunk = iovec()
            guard evbuffer_peek(input.raw, -1, nil, &chunk, 1) > 0, chunk.iov_len > 0 else { break }
            let outcome = parser.execute(UnsafeRawBufferPointer(start: chunk.iov_base, count: chunk.iov_len))
            switch outcome {
            case let .needMore(consumed):
                if consumed > 0 {
                    input.drain(consumed)
                } else {
                    // The request line's first token straddles two chunks: join a little and retry.
                    let total = input.count
                    guard total > chunk.iov_len else { return }
                    evbuffer_pullup(input.raw, min(total, 64))
                    if input.count <= chunk.iov_len { return }
                }
            case let .complete(consumed):
                input.drain(consumed)
                let request = parser.takeRequest()
                keepAliveAfterResponse = request.keepAlive && !context.draining
                if let accessLog = context.accessLog { accessEntry = accessLog.begin(request, peerHost: SocketAddress.peerHost(of: bev.fd)) }
                requestIsHTTP11 = request.versionMajor > 1 || (request.versionMajor == 1 && request.versionMinor >= 1)
                router.route(request, on: self)
            case let .failed(status, reason):
                reject(status, reason: reason)
                return
            }
        }
    }

    /// Answers a request that could not be parsed, then closes: after a framing error the rest of
    /// the stream cannot be trusted.
    private func reject(_ code: HTTPStatusCode, reason: String) {
        context.logLimited(.info, "bad request", "\(peerDescription): \(reason); closing")
        keepAliveAfterResponse = false
        lingerOnClose = true
        let rejection: OperationsCounters.Rejection = switch code {
        case .payloadTooLarge: .payloadTooLarge
        case .headersTooLarge: .headersTooLarge
        case .badRequest: .badRequest
        }
        context.operations.rejected(rejection)
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

    private static let requestTimeoutBody = Array("Request Timeout".utf8)

    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    func requestHeadersComplete(_ request: HTTPRequest) -> HeadersVerdict {
        // Expect: 100-continue from an HTTP/1.1 client: invite the body now rather than make the
        // client wait a second for nothing (the body size was already checked against the limit).
        if request.versionMajor == 1, request.versionMinor >= 1,
           let expect = request.value(.expect), expect.lowercased() == "100-continue", let bev {
            OutputBuffer.add(HTTPConnection.continueLine, to: bev.output)
        }
        return .proceed
    }

    // MARK: writing and closing

    func drained() {
        outputFlushed()
        if outputDrained() { return }
        if outputBlocked {
            outputBlocked = false
            processInput()
        }
    }

    func event(_ events: Int16) {
        if events & Int16(BEV_EVENT_ERROR) != 0 {
            context.logger.debug("\(peerDescription): socket error \(errno); closing")
            close()
        } else if events & Int16(BEV_EVENT_EOF) != 0, lingering {
            close()
        } else if events & Int16(BEV_EVENT_EOF) != 0 {
            // The client closed (or half-closed) its side. A waiting request is abandoned at once;
            // answers already queued are still delivered before the socket closes.
            if pending != nil || queuedBytes == 0 {
                close()
            } else {
                closeAfterFlush(linger: false)
            }
        }
    }

    override func deadlinePassed() {
        if let pending {
            pending.timedOut()
        } else if requestDeadline {
            // Headers and body did not arrive in time, however steadily they trickled in.
            context.logLimited(.info, "request timeout", "\(peerDescription): request incomplete after \(context.configuration.hardening.requestTimeout) s; 408 and closing")
            keepAliveAfterResponse = false
            lingerOnClose = true
            respond(.requestTimeout, headers: HTTPReplies.textPlain, body: HTTPConnection.requestTimeoutBody)
        } else {
            context.logger.debug("\(peerDescription): idle for \(context.configuration.idleTimeout) s; closing")
            close()
        }
    }

    override func willEnd() {
        setReading(false)
    }

    override func lingeringStarted() {
        setReading(true)
    }

    override func willClose() {
        if streaming, let entry = accessEntry {
            accessEntry = nil
            context.accessLog?.finish(entry, status: 200, bytes: streamedBytes, transport: "sse")
        }
        let abandoned = pending
        pending = nil
        abandoned?.cancel()
        stopSocketEvents()
    }

    override func didClose() {
        context.connectionClosed()
    }

    /// Draining: the response in flight is the connection's last. An idle connection closes now;
    /// a held request ends as its kind says (`PendingResponse.serverDraining`); a request still
    /// arriving or in progress is answered, then the connection closes.
    override func drainForShutdown() {
        guard let bev, !closeWhenFlushed else { return }
        keepAliveAfterResponse = false
        if let pending {
            pending.serverDraining()
        } else if !isProcessing, parser.atMessageStart, bev.input.count == 0 {
            closeAfterFlush(linger: false)
        }
    }

    /// Stops reading HTTP from the socket and gives it to another protocol (WebSocket), with any
    /// bytes the client already sent behind its request still in the input buffer.
    func detach() -> BufferEvent? {
        guard let bev = detachSocket() else { return nil }
        evbuffer_freeze(bev.input.raw, 0)
        bufferevent_setcb(bev.raw, nil, nil, nil, nil)
        return bev
    }

    /// The response to the request in flight will be the last on this connection (after an
    /// upgrade request the HTTP parser cannot go on).
    func closeAfterResponse() {
        keepAliveAfterResponse = false
    }
}
