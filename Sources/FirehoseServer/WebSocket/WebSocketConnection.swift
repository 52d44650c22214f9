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
        guard let bev, !closeWhenFlushed else { return false }
        let output = bufferevent_get_output(bev)
        switch mode {
        case .channel: OutputBuffer.addTextFrame(message.frame, to: output)
        case .multiplex: OutputBuffer.addTextFrame(message.multiplexedFrame, to: output)
        }
        let queued = evbuffer_get_length(output)
        if queued > context.configuration.webSocketMaxBufferedBytes {
            // A client that does not read is cut off rather than buffered for: it reconnects and
            // resumes by sequence from the channel's buffer.
            context.logger.warn("\(peerDescription): WebSocket client is not reading (\(queued) bytes queued); disconnecting")
            context.record(.errors)
            close()
            return false
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
        if wslay_event_recv(wslay) != 0 {
            close()
            return
        }
        flush()
    }

    /// Sends whatever wslay has queued (pongs, close frames) and closes once both sides are done.
    private func flush() {
        guard let wslay, bev != nil else { return }
        if wslay_event_want_write(wslay) != 0, wslay_event_send(wslay) != 0 {
            close()
            return
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
        if evbuffer_get_length(bufferevent_get_output(bev)) == 0 { close() }
    }

    fileprivate func message(_ payload: UnsafeBufferPointer<UInt8>, opcode: UInt8) {
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
            guard bev != nil, !closeWhenFlushed else { return }
            guard multiplexSubscriptions[entry.channel] == nil else {
                context.record(.duplicateMultiplexSubscription, channel: entry.channel)
                continue
            }
            context.record(.subscribed, channel: entry.channel)
            context.record(counter, channel: entry.channel)
            if let handle = context.backend.subscribe(channel: entry.channel, lastSequence: entry.lastSequence, subscriber: self) {
                if bev == nil || closeWhenFlushed { handle.cancel() } else { multiplexSubscriptions[entry.channel] = handle }
            }
        }
    }

    private func pong() {
        guard let bev else { return }
        OutputBuffer.addTextFrame(WebSocketConnection.pong, to: bufferevent_get_output(bev))
    }

    private static let pong = SharedBytes(WebSocketProtocol.pongPayload)

    // MARK: liveness and closing

    /// Nothing heard for a ping interval: ping; nothing heard for another: the peer is gone.
    override func deadlineExpired() {
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
        if closeWhenFlushed { close() }
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
        cancelDeadline()
        cancelSubscriptions()
        self.bev = nil
        if let wslay { wslay_event_context_free(wslay) }
        wslay = nil
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
