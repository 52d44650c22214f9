import CLibevent
import CWslay
import FirehoseCore

/// One client WebSocket after the upgrade: wslay reads frames (reassembly, masking, UTF-8 checks,
/// control frames, the close handshake); data frames go out directly as a 2-10 byte header plus
/// the message's shared JSON, so fan-out never copies or re-encodes a message per client.
///
/// wslay's context carries about 8 KiB of buffers, which an idle subscriber does not need: frames
/// are handed to wslay only once complete (their headers are read here), so between messages its
/// state is empty and the context is freed, and made again when the client next sends something.
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
    /// A fragmented message is being received: wslay holds its earlier fragments.
    private var fragmented = false
    /// How many more input bytes wslay may read now: exactly the complete frames handed to it.
    private var readAllowance = 0
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
        self.context.webSocketOpened()
        // A whole frame must fit in the input buffer before it is handed to wslay.
        let maxMessage = self.context.configuration.webSocketMaxMessageBytes
        bufferevent_setwatermark(bev, Int16(EV_READ), 0, max(self.context.configuration.readHighWatermark, maxMessage + 64))
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
        guard let bev, !closeWhenFlushed, !closeRequested else { return false }
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
        let payload = switch mode {
        case .channel: message.frame
        case .multiplex: message.multiplexedFrame
        }
        if insideWslay, let output {
            OutputBuffer.addTextFrame(payload, to: output)  // staged behind wslay's control frames
        } else {
            OutputBuffer.writeTextFrame(payload, to: bev)
        }
        return true
    }

    // MARK: reading

    private func readable() {
        guard let bev, !closeWhenFlushed else {
            if let bev { evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev))) }
            return
        }
        pingOutstanding = false
        context.webSocketPingQueue.schedule(self)
        let input = bufferevent_get_input(bev)
        while self.bev != nil, !closeWhenFlushed {
            var bytes: (UInt64, UInt64) = (0, 0)  // 16 bytes: room for the longest frame header
            let available = withUnsafeMutableBytes(of: &bytes) { evbuffer_copyout(input, $0.baseAddress, 14) }
            guard available > 0, let header = withUnsafeBytes(of: &bytes, { WebSocketProtocol.frameHeader(UnsafeRawBufferPointer(rebasing: $0[0..<available])) }) else { break }
            // The message's size so far with this frame; kept only once the frame is handed over,
            // since an incomplete frame's header is read again on the next read.
            let messageBytes = header.opcode == 0 ? incomingMessageBytes &+ header.payloadLength : header.payloadLength
            if !header.isControl {
                if messageBytes > UInt64(context.configuration.webSocketMaxMessageBytes) {
                    context.logger.info("\(peerDescription): WebSocket message over \(context.configuration.webSocketMaxMessageBytes) bytes; closing with 1009")
                    closeWith(WebSocketConnection.tooBigClose)
                    return
                }
            }
            guard UInt64(evbuffer_get_length(input)) >= header.totalLength else { break }
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
                context.logger.info("\(peerDescription): WebSocket protocol error; closing with 1002")
                closeWith(WebSocketConnection.protocolErrorClose)
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
        if let staging, evbuffer_get_length(staging) > 0 {
            evbuffer_add_buffer(bufferevent_get_output(bev), staging)
        }
        guard let wslay else { return }
        if wslay_event_want_read(wslay) == 0, wslay_event_want_write(wslay) == 0 {
            finish()
        } else if !fragmented, wslay_event_want_write(wslay) == 0, !closeWhenFlushed {
            wslay_event_context_free(wslay)
            self.wslay = nil
        }
    }

    /// Sends our own close frame (wslay is not involved) and closes after it.
    private func closeWith(_ frame: [UInt8]) {
        guard let bev else { return }
        if let staging, evbuffer_get_length(staging) > 0 { evbuffer_add_buffer(bufferevent_get_output(bev), staging) }
        OutputBuffer.add(frame, to: bufferevent_get_output(bev))
        finish()
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
    /// Frames the server writes itself: close with 1002 (protocol error), close with 1009 (message
    /// too big), and an empty ping.
    private static let protocolErrorClose: [UInt8] = [0x88, 0x02, 0x03, 0xEA]
    private static let tooBigClose: [UInt8] = [0x88, 0x02, 0x03, 0xF1]
    private static let ping: [UInt8] = [0x89, 0x00]

    // MARK: liveness and closing

    /// Nothing heard for a ping interval: ping; nothing heard for another: the peer is gone.
    override func deadlineExpired() {
        if lingering {
            close()
            return
        }
        guard let bev, !closeWhenFlushed else { return }
        if pingOutstanding {
            context.logger.info("\(peerDescription): WebSocket peer did not answer a ping; closing")
            close()
            return
        }
        pingOutstanding = true
        OutputBuffer.add(WebSocketConnection.ping, to: bufferevent_get_output(bev))
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
            let read = evbuffer_remove(bufferevent_get_input(bev), buffer, min(length, this.readAllowance))
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
