import CLibevent
import CWslay
import FirehoseCore

/// One client WebSocket after the upgrade: wslay reads frames (reassembly, masking, UTF-8 and size
/// checks, control frames, the close handshake); data frames go out directly as a 2-10 byte header
/// plus the message's shared JSON, so fan-out never copies or re-encodes a message per client.
/// Loop thread only. Keeps itself alive while its socket is open.
final class WebSocketConnection: DeadlineNode, ChannelSubscriber {
    enum Mode {
        /// `ws://host/<channel>`: the first non-ping message subscribes.
        case channel(String)
        /// `ws://host/channels@firehose`: channels come and go by command.
        case multiplex
    }

    private unowned let context: ServerContext
    private var bev: OpaquePointer?
    private var wslay: OpaquePointer?
    private let mode: Mode
    private var channelSubscription: SubscriptionHandle?
    private var subscribed = false
    private var multiplexSubscriptions: [String: SubscriptionHandle] = [:]
    private var pingOutstanding = false
    private var closeWhenFlushed = false
    /// Set while wslay is calling us: its context must not be freed until it returns, and what we
    /// write goes to `staging`, appended after wslay's own control frames (pongs) have gone out.
    private var insideWslay = false
    private var closeRequested = false
    private var staging: OpaquePointer?
    /// Bytes announced so far by the frames of the message being received.
    private var incomingMessageBytes: UInt64 = 0
    /// Closing: our close frame is out, and the client's remaining bytes are read and dropped for a
    /// moment so that closing does not reset the socket before the client has read it.
    private var lingering = false

    init(context: ServerContext, bev: OpaquePointer, mode: Mode) {
        self.context = context
        self.bev = bev
        self.mode = mode
        super.init()
    }

    /// Sends the 101, starts reading frames (including any the client sent right behind its
    /// upgrade request), and makes the subscriptions the URL asked for.
    func start(handshake: [UInt8], subscriptions: [MultiplexSubscription]) {
        guard let bev else { return }
        _ = Unmanaged.passRetained(self)
        let me = Unmanaged.passUnretained(self).toOpaque()
        var context: OpaquePointer?
        guard wslay_event_context_server_init(&context, WebSocketConnection.callbacks, me) == 0, let context else {
            self.context.logger.error("wslay context allocation failed; closing")
            close()
            return
        }
        wslay = context
        wslay_event_config_set_max_recv_msg_length(context, UInt64(self.context.configuration.webSocketMaxMessageBytes))
        self.context.webSocketOpened()
        bufferevent_setcb(bev, { _, context in
            Unmanaged<WebSocketConnection>.fromOpaque(context!).takeUnretainedValue().readable()
        }, { _, context in
            Unmanaged<WebSocketConnection>.fromOpaque(context!).takeUnretainedValue().drained()
        }, { _, events, context in
            Unmanaged<WebSocketConnection>.fromOpaque(context!).takeUnretainedValue().event(events)
        }, me)
        bufferevent_enable(bev, Int16(EV_READ | EV_WRITE))
        OutputBuffer.add(handshake, to: bufferevent_get_output(bev))
        self.context.webSocketPingQueue.schedule(self)
        if !subscriptions.isEmpty { subscribe(subscriptions, counter: .subscribedMultiplexedWebSocket) }
        if evbuffer_get_length(bufferevent_get_input(bev)) > 0 { readable() }
    }

    // MARK: delivering

    func receive(_ message: Message) -> Bool {
        guard let output, !closeWhenFlushed, !closeRequested else { return false }
        let queued = queuedBytes
        if queued > context.configuration.webSocketMaxBufferedBytes {
            // A client that does not read is cut off rather than buffered for: it reconnects and
            // resumes by sequence from the channel's buffer. (What was queued before this message
            // counts, so one message larger than the budget still goes out to a reading client.)
            context.logger.warn("\(peerDescription): WebSocket client is not reading (\(queued) bytes queued); disconnecting")
            context.record(.errors)
            close()
            return false
        }
        switch mode {
        case .channel: OutputBuffer.addTextFrame(message.frame, to: output)
        case .multiplex: OutputBuffer.addTextFrame(message.multiplexedFrame, to: output)
        }
        return true
    }

    // MARK: reading

    private func readable() {
        guard let wslay, !closeWhenFlushed else {
            if let bev { evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev))) }
            return
        }
        pingOutstanding = false
        context.webSocketPingQueue.schedule(self)
        insideWslay = true
        let status = wslay_event_recv(wslay)
        insideWslay = false
        if closeRequested {
            close()
            return
        }
        if status != 0 {
            // A malformed frame (wslay stops reading and queues a close without a status code):
            // answer with our own close frame, 1002, then close gracefully. wslay is not used again.
            context.logger.info("\(peerDescription): WebSocket protocol error; closing with 1002")
            if let bev { OutputBuffer.add(WebSocketConnection.protocolErrorClose, to: bufferevent_get_output(bev)) }
            finish()
            return
        }
        flush()
    }

    /// Sends whatever wslay has queued (pongs, close frames), then what we wrote meanwhile, and
    /// closes once both sides are done.
    private func flush() {
        guard let wslay, let bev else { return }
        if wslay_event_want_write(wslay) != 0, wslay_event_send(wslay) != 0 {
            close()
            return
        }
        if let staging, evbuffer_get_length(staging) > 0 {
            evbuffer_add_buffer(bufferevent_get_output(bev), staging)
        }
        if wslay_event_want_read(wslay) == 0, wslay_event_want_write(wslay) == 0 {
            finish()
        }
    }

    /// The close handshake is over (or the peer broke the protocol): deliver what is queued, then close.
    private func finish() {
        guard let bev, !closeWhenFlushed else { return }
        closeWhenFlushed = true
        cancelSubscriptions()
        if evbuffer_get_length(bufferevent_get_output(bev)) == 0 { linger() }
    }

    private func linger() {
        guard let bev, !lingering else { return }
        lingering = true
        shutdown(bufferevent_getfd(bev), Int32(SHUT_WR))
        context.lingerQueue.schedule(self)
    }

    /// Where a data frame goes now (see `staging`).
    private var output: OpaquePointer? {
        guard let bev else { return nil }
        guard insideWslay else { return bufferevent_get_output(bev) }
        if staging == nil { staging = evbuffer_new() }
        return staging
    }

    private var queuedBytes: Int {
        (bev.map { evbuffer_get_length(bufferevent_get_output($0)) } ?? 0) + (staging.map { evbuffer_get_length($0) } ?? 0)
    }

    /// Refuses a message as soon as its frame headers announce more than the limit (wslay would
    /// only notice once that much had arrived).
    fileprivate func frameStarted(opcode: UInt8, length: UInt64) {
        guard opcode & 0x8 == 0 else { return }  // control frames are capped at 125 bytes by wslay
        incomingMessageBytes = opcode == UInt8(WSLAY_CONTINUATION_FRAME.rawValue) ? incomingMessageBytes &+ length : length
        if incomingMessageBytes > UInt64(context.configuration.webSocketMaxMessageBytes), let wslay {
            context.logger.info("\(peerDescription): WebSocket message over \(context.configuration.webSocketMaxMessageBytes) bytes; closing with 1009")
            wslay_event_queue_close(wslay, UInt16(WSLAY_CODE_MESSAGE_TOO_BIG.rawValue), nil, 0)
            wslay_event_shutdown_read(wslay)
        }
    }

    fileprivate func message(_ payload: UnsafeBufferPointer<UInt8>, opcode: UInt8) {
        guard !closeRequested else { return }
        let binary = opcode == UInt8(WSLAY_BINARY_FRAME.rawValue)
        guard binary || opcode == UInt8(WSLAY_TEXT_FRAME.rawValue) else { return }
        let bytes = Array(payload)
        if !binary, !UTF8Validation.isValid(bytes) {
            context.logger.info("\(peerDescription): text frame is not UTF-8; closing with 1007")
            wslay_event_queue_close(wslay, UInt16(WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA.rawValue), nil, 0)
            return
        }
        switch mode {
        case let .channel(channel):
            switch WebSocketProtocol.channelCommand(bytes, binary: binary) {
            case .ping:
                pong()
            case let .subscribe(lastSequence):
                guard !subscribed else { return }  // only the first subscription counts
                subscribed = true
                context.record(.subscribed, channel: channel)
                context.record(.subscribedWebSocket, channel: channel)
                channelSubscription = context.backend.subscribe(channel: channel, lastSequence: lastSequence, subscriber: self)
            }
        case .multiplex:
            switch WebSocketProtocol.multiplexCommand(bytes, binary: binary) {
            case .ping:
                pong()
            case let .subscribe(list):
                subscribe(list, counter: .subscribedMultiplexedWebSocketDynamic)
            case let .unsubscribe(channels):
                for channel in channels { multiplexSubscriptions.removeValue(forKey: channel)?.cancel() }
            case .ignore:
                context.logger.debug("\(peerDescription): ignored multiplexed WebSocket message")
            }
        }
    }

    private func subscribe(_ list: [MultiplexSubscription], counter: MetricsRecorder.Counter) {
        for entry in list {
            guard bev != nil, !closeWhenFlushed, !closeRequested else { return }
            guard multiplexSubscriptions[entry.channel] == nil else {
                context.record(.duplicateMultiplexSubscription, channel: entry.channel)
                continue
            }
            context.record(.subscribed, channel: entry.channel)
            context.record(counter, channel: entry.channel)
            if let handle = context.backend.subscribe(channel: entry.channel, lastSequence: entry.lastSequence, subscriber: self) {
                if bev == nil || closeWhenFlushed || closeRequested { handle.cancel() } else { multiplexSubscriptions[entry.channel] = handle }
            }
        }
    }

    private func pong() {
        guard let output else { return }
        OutputBuffer.addTextFrame(WebSocketConnection.pong, to: output)
    }

    private static let pong = SharedBytes(WebSocketProtocol.pongPayload)
    /// A close frame with status 1002 (protocol error).
    private static let protocolErrorClose: [UInt8] = [0x88, 0x02, 0x03, 0xEA]

    // MARK: liveness and closing

    /// Nothing heard for a ping interval: ping; nothing heard for another: the peer is gone.
    override func deadlineExpired() {
        if lingering {
            close()
            return
        }
        guard let wslay, !closeWhenFlushed else { return }
        if pingOutstanding {
            context.logger.info("\(peerDescription): WebSocket peer did not answer a ping; closing")
            close()
            return
        }
        pingOutstanding = true
        var ping = wslay_event_msg(opcode: UInt8(WSLAY_PING.rawValue), msg: nil, msg_length: 0)
        wslay_event_queue_msg(wslay, &ping)
        flush()
        context.webSocketPingQueue.schedule(self)
    }

    private func drained() {
        if closeWhenFlushed { linger() }
    }

    private func event(_ events: Int16) {
        if events & Int16(BEV_EVENT_EOF | BEV_EVENT_ERROR) != 0 { close() }
    }

    private func cancelSubscriptions() {
        channelSubscription?.cancel()
        channelSubscription = nil
        let held = multiplexSubscriptions
        multiplexSubscriptions = [:]
        for handle in held.values { handle.cancel() }
    }

    func close() {
        guard let bev else { return }
        if insideWslay {
            // Freeing the wslay context now would pull it from under wslay_event_recv.
            closeRequested = true
            cancelSubscriptions()
            return
        }
        cancelDeadline()
        cancelSubscriptions()
        self.bev = nil
        if let wslay { wslay_event_context_free(wslay) }
        wslay = nil
        if let staging { evbuffer_free(staging) }
        staging = nil
        bufferevent_free(bev)
        context.webSocketClosed()
        Unmanaged.passUnretained(self).release()
    }

    var peerDescription: String {
        guard let bev else { return "closed WebSocket" }
        return SocketAddress.peer(of: bufferevent_getfd(bev))
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
            let read = evbuffer_remove(bufferevent_get_input(bev), buffer, length)
            guard read > 0 else {
                wslay_event_set_error(context, Int32(WSLAY_ERR_WOULDBLOCK.rawValue))
                return -1
            }
            return Int(read)
        }
        callbacks.send_callback = { context, data, length, _, user in
            let this = WebSocketConnection.connection(user)
            guard let bev = this.bev else {
                wslay_event_set_error(context, Int32(WSLAY_ERR_CALLBACK_FAILURE.rawValue))
                return -1
            }
            evbuffer_add(bufferevent_get_output(bev), data, length)
            return length
        }
        callbacks.on_frame_recv_start_callback = { _, argument, user in
            guard let argument else { return }
            WebSocketConnection.connection(user).frameStarted(opcode: argument.pointee.opcode, length: argument.pointee.payload_length)
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
