internal import CLibevent
internal import CWslay
internal import FirehoseCore

/// The socket side of one client WebSocket after the upgrade: wslay reads frames (reassembly,
/// masking, UTF-8 checks, control frames, the close handshake), silence is met with a ping, and
/// the close is lingering. What the messages mean is the `WebSocketSession`'s; data frames go out
/// as a 2-10 byte header plus the message's shared JSON (`WebSocketFraming`), so fan-out never
/// copies or re-encodes a message per client.
///
/// wslay's context carries about 8 KiB of buffers, which an idle subscriber does not need: frames
/// are handed to wslay only once complete (their headers are read here), so between messages its
/// state is empty and the context is freed, and made again when the client next sends something.
/// Loop thread only. Its socket's life (self-retain, lingering close) is `SocketConnection`'s.
final class WebSocketConnection: SocketConnection, Expiring {
    private unowned(unsafe) let context: ServerContext
    private var wslay: OpaquePointer?
    private var session: WebSocketSession?
    private var pingOutstanding = false
    /// Set while wslay is calling us: its context must not be freed until it returns, and what we
    /// write goes to `staging`, appended after wslay's own control frames (pongs) have gone out.
    private var insideWslay = false
    private var closeRequested = false
    private var staging: EventBuffer?
    /// Bytes announced so far by the frames of the message being received.
    private var incomingMessageBytes: UInt64 = 0
    /// A fragmented message is being received: wslay holds its earlier fragments.
    private var fragmented = false
    /// How many more input bytes wslay may read now: exactly the complete frames handed to it.
    private var readAllowance = 0
    /// When the upgrade's credentials expire (Unix seconds; infinity when they do not), and the
    /// socket's place in the context's `credentialExpiry` queue.
    private(set) var expiresAt = Double.infinity
    var expiryIndex = -1
    /// The upgrade request, for the access log line written when the session ends (nil when off).
    var accessEntry: AccessLog.Entry?
    /// Payload bytes of the messages sent (for the access log).
    private var sentBytes = 0

    init(context: ServerContext, bev: BufferEvent) {
        self.context = context
        super.init(bev: bev, lingerQueue: context.lingerQueue, flushQueue: context.closeFlushQueue)
    }

    /// Sends the 101, starts reading frames (including any the client sent right behind its
    /// upgrade request), and starts `session`, which makes the subscriptions the URL asked for.
    /// `expiresAt` (Unix seconds) is when the upgrade's credentials run out: the socket is closed
    /// with 1008 then.
    func start(handshake: [UInt8], session: WebSocketSession, subscriptions: [MultiplexSubscription], expiresAt: Double? = nil) {
        guard let bev else { return }
        retainWhileOpen(in: context.connections)
        self.session = session
        if let expiresAt {
            self.expiresAt = expiresAt
            context.credentialExpiry.add(self)
        }
        let me = Unmanaged.passUnretained(self).toOpaque()
        self.context.webSocketOpened()
        // A whole frame must fit in the input buffer before it is handed to wslay.
        let maxMessage = self.context.configuration.webSocketMaxMessageBytes
        bufferevent_setwatermark(bev.raw, Int16(EV_READ), 0, max(self.context.configuration.readHighWatermark, maxMessage + 64))
        bufferevent_setcb(bev.raw, { _, context in
            Unmanaged<WebSocketConnection>.fromOpaque(context!).takeUnretainedValue().readable()
        }, { _, context in
            Unmanaged<WebSocketConnection>.fromOpaque(context!).takeUnretainedValue().drained()
        }, { _, events, context in
            Unmanaged<WebSocketConnection>.fromOpaque(context!).takeUnretainedValue().event(events)
        }, me)
        bufferevent_enable(bev.raw, Int16(EV_READ | EV_WRITE))
        OutputBuffer.add(handshake, to: bev.output)
        self.context.webSocketPingQueue.schedule(self)
        if self.context.draining {
            drainForShutdown()  // upgraded while the server began to drain
            return
        }
        session.start(subscriptions: subscriptions)
        if bev.input.count > 0 { readable() }
    }

    // MARK: sending

    /// Sends one text frame around `payload`. Returns false when the connection is closing or the
    /// client was just cut off for not reading.
    func sendText(_ payload: SharedBytes) -> Bool {
        guard mayQueue() else { return false }
        sentBytes += payload.count
        if insideWslay, let output {
            WebSocketFraming.addText(payload, to: output)  // staged behind wslay's control frames
        } else {
            WebSocketFraming.writeText(payload, to: bev!)
        }
        return true
    }

    /// Sends a message's text frame (a `WebSocketFormats` encoding: the header is in its head).
    func sendText(_ message: EncodedMessage) -> Bool {
        guard mayQueue() else { return false }
        if accessEntry != nil {
            // The payload: the encoding less the frame header at the start of its head.
            let lengthCode = message.head[1] & 0x7F
            sentBytes += message.count - (lengthCode < 126 ? 2 : lengthCode == 126 ? 4 : 10)
        }
        // The frame header is at the start of the encoding's head (`WebSocketFormats`).
        if insideWslay, let output {
            OutputBuffer.add(message, to: output)  // staged behind wslay's control frames
        } else {
            OutputBuffer.write(message, to: bev!)
        }
        return true
    }

    private func mayQueue() -> Bool {
        guard bev != nil, !closeWhenFlushed, !closeRequested else { return false }
        let queued = queuedBytes
        if queued > context.configuration.webSocketMaxBufferedBytes {
            // A client that does not read is cut off rather than buffered for: it reconnects and
            // resumes by sequence from the channel's buffer. (What was queued before this message
            // counts, so one message larger than the budget still goes out to a reading client.)
            cutOff(queued: queued)
            return false
        }
        return true
    }

    private func cutOff(queued: Int) {
        context.logLimited(.warn, "WebSocket client not reading", "\(peerDescription): WebSocket client is not reading (\(queued) bytes queued); disconnecting")
        context.record(.errors)
        close()
    }

    // MARK: reading

    private func readable() {
        guard let bev, !closeWhenFlushed else {
            bev?.input.drainAll()
            return
        }
        pingOutstanding = false
        context.webSocketPingQueue.schedule(self)
        let input = bev.input
        // Bytes handed to wslay in this call: its answers (pongs) are queued inside wslay until
        // `flush`, at most as large as the frames that asked for them.
        var handedToWslay = 0
        while isOpen, !closeWhenFlushed {
            var bytes: (UInt64, UInt64) = (0, 0)  // 16 bytes: room for the longest frame header
            let available = withUnsafeMutableBytes(of: &bytes) { evbuffer_copyout(input.raw, $0.baseAddress, 14) }
            guard available > 0, let header = withUnsafeBytes(of: &bytes, { WebSocketProtocol.frameHeader(UnsafeRawBufferPointer(rebasing: $0[0..<available])) }) else { break }
            // The message's size so far with this frame; kept only once the frame is handed over,
            // since an incomplete frame's header is read again on the next read.
            let messageBytes = header.opcode == 0 ? incomingMessageBytes &+ header.payloadLength : header.payloadLength
            if header.isControl, header.payloadLength > 125 || !header.fin {
                // RFC 6455 §5.5: refused at the header, not after waiting for a payload that may
                // never come (spec WSX-5).
                context.logLimited(.info, "WebSocket protocol error", "\(peerDescription): WebSocket control frame of \(header.payloadLength) bytes\(header.fin ? "" : " without FIN"); closing with 1002")
                closeWith(WebSocketFraming.protocolErrorClose)
                return
            }
            if !header.isControl {
                if messageBytes > UInt64(context.configuration.webSocketMaxMessageBytes) {
                    context.logLimited(.info, "WebSocket message too big", "\(peerDescription): WebSocket message over \(context.configuration.webSocketMaxMessageBytes) bytes; closing with 1009")
                    closeWith(WebSocketFraming.tooBigClose)
                    return
                }
            }
            guard UInt64(input.count) >= header.totalLength else { break }
            if queuedBytes + handedToWslay > context.configuration.webSocketMaxBufferedBytes {
                // Pings from a client that does not read its pongs: every byte queued for it
                // counts against the same budget as its messages (spec LIM-4).
                cutOff(queued: queuedBytes + handedToWslay)
                return
            }
            handedToWslay += Int(header.totalLength)
            guard let wslay = wslayContext() else { return }
            if !header.isControl {
                incomingMessageBytes = messageBytes
                fragmented = !header.fin
            }
            readAllowance = Int(header.totalLength)
            insideWslay = true
            let status = wslay_event_recv(wslay)
            insideWslay = false
            readAllowance = 0
            if closeRequested {
                close()
                return
            }
            if status != 0 {
                // A malformed frame (wslay stops reading and queues a close without a status code):
                // answer with our own close frame, 1002. wslay is not used again.
                context.logLimited(.info, "WebSocket protocol error", "\(peerDescription): WebSocket protocol error; closing with 1002")
                closeWith(WebSocketFraming.protocolErrorClose)
                return
            }
            if wslay_event_want_read(wslay) == 0 { break }  // a close arrived, or wslay refused the frame
        }
        flush()
    }

    /// wslay's context, made when the client sends something after being quiet.
    private func wslayContext() -> OpaquePointer? {
        if let wslay { return wslay }
        var created: OpaquePointer?
        guard wslay_event_context_server_init(&created, WebSocketConnection.callbacks, Unmanaged.passUnretained(self).toOpaque()) == 0,
              let created else {
            context.logger.error("wslay context allocation failed; closing")
            close()
            return nil
        }
        wslay_event_config_set_max_recv_msg_length(created, UInt64(context.configuration.webSocketMaxMessageBytes))
        wslay = created
        return created
    }

    /// Sends whatever wslay has queued (pongs, close frames), then what we wrote meanwhile; closes
    /// once both sides are done, or frees wslay's context while the connection is between messages.
    private func flush() {
        guard let bev else { return }
        if let wslay, wslay_event_want_write(wslay) != 0, wslay_event_send(wslay) != 0 {
            close()
            return
        }
        if let staging, staging.count > 0 {
            bev.output.takeAll(from: staging)
        }
        guard let wslay else { return }
        if wslay_event_want_read(wslay) == 0, wslay_event_want_write(wslay) == 0 {
            closeAfterFlush(linger: true)  // the close handshake is over
        } else if !fragmented, wslay_event_want_write(wslay) == 0, !closeWhenFlushed {
            wslay_event_context_free(wslay)
            self.wslay = nil
        }
    }

    /// Sends our own close frame (wslay is not involved) and closes after it.
    private func closeWith(_ frame: [UInt8]) {
        guard let bev else { return }
        if let staging, staging.count > 0 { bev.output.takeAll(from: staging) }
        OutputBuffer.add(frame, to: bev.output)
        closeAfterFlush(linger: true)
    }

    /// Where a data frame goes now (see `staging`).
    private var output: EventBuffer? {
        guard let bev else { return nil }
        guard insideWslay else { return bev.output }
        if staging == nil { staging = EventBuffer.make() }
        return staging
    }

    override var queuedBytes: Int {
        super.queuedBytes + (staging?.count ?? 0)
    }

    fileprivate func message(_ payload: UnsafeBufferPointer<UInt8>, opcode: UInt8) {
        guard !closeRequested else { return }
        let binary = opcode == UInt8(WSLAY_BINARY_FRAME.rawValue)
        guard binary || opcode == UInt8(WSLAY_TEXT_FRAME.rawValue) else { return }
        let bytes = Array(payload)
        if !binary, !UTF8Validation.isValid(bytes) {
            context.logLimited(.info, "WebSocket invalid UTF-8", "\(peerDescription): text frame is not UTF-8; closing with 1007")
            wslay_event_queue_close(wslay, UInt16(WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA.rawValue), nil, 0)
            return
        }
        session?.received(bytes, binary: binary)
    }

    // MARK: liveness and closing

    /// Nothing heard for a ping interval: ping; nothing heard for another: the peer is gone.
    override func deadlinePassed() {
        guard let bev, !closeWhenFlushed else { return }
        if pingOutstanding {
            context.logLimited(.info, "WebSocket ping unanswered", "\(peerDescription): WebSocket peer did not answer a ping; closing")
            close()
            return
        }
        pingOutstanding = true
        OutputBuffer.add(WebSocketFraming.ping, to: bev.output)
        context.webSocketPingQueue.schedule(self)
    }

    private func drained() {
        _ = outputDrained()
    }

    private func event(_ events: Int16) {
        if events & Int16(BEV_EVENT_EOF | BEV_EVENT_ERROR) != 0 { close() }
    }

    override func willEnd() {
        context.credentialExpiry.remove(self)
        endSession()
    }

    /// Ends the socket at `time` (Unix seconds) unless it already ends sooner: a subscription made
    /// on the open socket was allowed only until then.
    func expire(at time: Double) {
        guard isOpen, time < expiresAt else { return }
        context.credentialExpiry.remove(self)
        expiresAt = time
        context.credentialExpiry.add(self)
    }

    /// The token of the upgrade expired: close with 1008 (spec/auth.md).
    func expired() {
        guard isOpen, !closeWhenFlushed else { return }
        context.logger.debug("\(peerDescription): WebSocket token expired; closing with 1008")
        closeWith(WebSocketFraming.tokenExpiredClose)
    }

    /// Draining: close with 1001 (going away); the client's close frame or the linger deadline ends it.
    override func drainForShutdown() {
        guard isOpen, !closeWhenFlushed, !closeRequested else { return }
        closeWith(WebSocketFraming.goingAwayClose)
    }

    private func endSession() {
        let ended = session
        session = nil
        ended?.end()
    }

    override func close() {
        guard isOpen else { return }
        if insideWslay {
            // Freeing the wslay context now would pull it from under wslay_event_recv.
            closeRequested = true
            endSession()
            return
        }
        super.close()
    }

    override func willClose() {
        context.credentialExpiry.remove(self)
        endSession()
        if let wslay { wslay_event_context_free(wslay) }
        wslay = nil
        staging?.free()
        staging = nil
    }

    override func didClose() {
        context.webSocketClosed()
        if let entry = accessEntry {
            accessEntry = nil
            context.accessLog?.finish(entry, status: 101, bytes: sentBytes, transport: "websocket")
        }
    }

    override var peerDescription: String {
        isOpen ? super.peerDescription : "closed WebSocket"
    }

    // MARK: wslay callbacks

    private static func connection(_ user: UnsafeMutableRawPointer?) -> WebSocketConnection {
        Unmanaged<WebSocketConnection>.fromOpaque(user!).takeUnretainedValue()
    }

    nonisolated(unsafe) private static let callbacks: UnsafeMutablePointer<wslay_event_callbacks> = {
        var callbacks = wslay_event_callbacks()
        callbacks.recv_callback = { context, buffer, length, _, user in
            let this = WebSocketConnection.connection(user)
            guard let bev = this.bev else {
                wslay_event_set_error(context, Int32(WSLAY_ERR_CALLBACK_FAILURE.rawValue))
                return -1
            }
            let read = evbuffer_remove(bev.input.raw, buffer, min(length, this.readAllowance))
            guard read > 0 else {
                wslay_event_set_error(context, Int32(WSLAY_ERR_WOULDBLOCK.rawValue))
                return -1
            }
            this.readAllowance -= Int(read)
            return Int(read)
        }
        callbacks.send_callback = { context, data, length, _, user in
            let this = WebSocketConnection.connection(user)
            guard let bev = this.bev else {
                wslay_event_set_error(context, Int32(WSLAY_ERR_CALLBACK_FAILURE.rawValue))
                return -1
            }
            evbuffer_add(bev.output.raw, data, length)
            return length
        }
        callbacks.on_msg_recv_callback = { _, argument, user in
            guard let argument else { return }
            let this = WebSocketConnection.connection(user)
            this.message(UnsafeBufferPointer(start: argument.pointee.msg, count: argument.pointee.msg_length), opcode: argument.pointee.opcode)
        }
        let pointer = UnsafeMutablePointer<wslay_event_callbacks>.allocate(capacity: 1)
        pointer.initialize(to: callbacks)
        return pointer
    }()
}
