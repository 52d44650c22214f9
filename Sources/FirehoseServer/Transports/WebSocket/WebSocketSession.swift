internal import FirehoseCore

/// What one WebSocket client is subscribed to and what its messages mean (Firehose's WebSocket
/// protocol): a single-channel socket subscribes with its first message, a multiplexed one adds
/// and drops channels by command. It receives the channels' messages and hands their frames to the
/// socket; the socket side (`WebSocketConnection`) knows nothing of channels. Loop thread only.
final class WebSocketSession: ChannelSubscriber {
    enum Mode {
        /// `ws://host/<channel>`: the first non-ping message subscribes.
        case channel(String)
        /// `ws://host/channels@firehose`: channels come and go by command.
        case multiplex
    }

    private unowned(unsafe) let context: ServerContext
    private let mode: Mode
    /// The frame every delivery sends, chosen once (formats live as long as the process: holding
    /// it unretained saves a retain and release per delivery, measured with callgrind).
    private unowned(unsafe) let format: MessageFormat
    /// The upgrade request, kept only when a policy must judge later subscriptions by it.
    private let upgradeRequest: HTTPRequest?
    /// The socket ends the session (`end`) before it lets go of itself, so while `isActive` the
    /// socket is alive; not retaining it saves a retain and release on every delivery.
    private unowned(unsafe) let connection: WebSocketConnection
    private(set) var isActive = true
    private var channelSubscription: SubscriptionHandle?
    private var subscribed = false
    private var multiplexSubscriptions: [String: SubscriptionHandle] = [:]

    init(context: ServerContext, mode: Mode, upgradeRequest: HTTPRequest, socket: WebSocketConnection) {
        self.context = context
        self.mode = mode
        format = switch mode {
        case .channel: WebSocketFormats.single
        case .multiplex: WebSocketFormats.multiplexed
        }
        self.upgradeRequest = context.policy.allowsEverything ? nil : upgradeRequest
        connection = socket
    }

    /// The socket while the session is active.
    private var socket: WebSocketConnection? { isActive ? connection : nil }

    /// The subscriptions the upgrade URL asked for (already allowed by the policy).
    func start(subscriptions: [MultiplexSubscription]) {
        if !subscriptions.isEmpty { subscribe(subscriptions, counter: .subscribedMultiplexedWebSocket) }
    }

    /// The socket is closing: let go of every subscription and of the socket.
    func end() {
        isActive = false
        channelSubscription?.cancel()
        channelSubscription = nil
        let held = multiplexSubscriptions
        multiplexSubscriptions = [:]
        for handle in held.values { handle.cancel() }
    }

    // MARK: delivering

    var transport: SubscriberTransport { .webSocket }

    func receive(_ message: Message) -> Bool {
        guard isActive else { return false }
        return connection.sendText(message.encoded(as: format))
    }

    // MARK: commands

    /// One complete message from the client (text already checked to be UTF-8).
    func received(_ bytes: [UInt8], binary: Bool) {
        guard let socket else { return }
        switch mode {
        case let .channel(channel):
            switch WebSocketProtocol.channelCommand(bytes, binary: binary) {
            case .ping:
                _ = socket.sendText(WebSocketSession.pong)
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
                _ = socket.sendText(WebSocketSession.pong)
            case let .subscribe(list):
                authorizeThenSubscribe(list)
            case let .unsubscribe(channels):
                for channel in channels { multiplexSubscriptions.removeValue(forKey: channel)?.cancel() }
            case .ignore:
                context.logger.debug("\(socket.peerDescription): ignored multiplexed WebSocket message")
            }
        }
    }

    /// A `multiplex_subscribe` on an open socket: each channel the policy refuses is answered with
    /// an error frame and skipped; the others are subscribed, in order.
    private func authorizeThenSubscribe(_ list: [MultiplexSubscription]) {
        guard let upgradeRequest, let socket else {
            return subscribe(list, counter: .subscribedMultiplexedWebSocketDynamic)
        }
        let credentials = Credentials(request: upgradeRequest, connection: socket)
        for entry in list {
            context.policy.authorize(.subscribe, channel: entry.channel, credentials: credentials) { [self] decision in
                guard isActive else { return }
                switch decision {
                case let .allowed(until):
                    if let until { self.socket?.expire(at: until) }
                    subscribe([entry], counter: .subscribedMultiplexedWebSocketDynamic)
                case let .denied(denial):
                    context.record(.errors)
                    _ = self.socket?.sendText(SharedBytes(WebSocketSession.refusal(denial, channel: entry.channel)))
                }
            }
        }
    }

    private func subscribe(_ list: [MultiplexSubscription], counter: MetricsRecorder.Counter) {
        let limit = context.configuration.hardening.maxChannelsPerConnection
        for entry in list {
            guard isActive else { return }
            guard multiplexSubscriptions[entry.channel] == nil else {
                context.record(.duplicateMultiplexSubscription, channel: entry.channel)
                continue
            }
            guard multiplexSubscriptions.count < limit else {
                // One frame for the rest of the command, not one per refused channel (spec LIM-2).
                context.record(.errors)
                _ = socket?.sendText(SharedBytes(WebSocketSession.tooManyChannels(limit: limit, channel: entry.channel)))
                return
            }
            context.record(.subscribed, channel: entry.channel)
            context.record(counter, channel: entry.channel)
            if let handle = context.backend.subscribe(channel: entry.channel, lastSequence: entry.lastSequence, subscriber: self) {
                if isActive { multiplexSubscriptions[entry.channel] = handle } else { handle.cancel() }
            }
        }
    }

    private static let pong = SharedBytes(WebSocketProtocol.pongPayload)

    /// `{"error":"too_many_channels","channel":"/x","limit":1000}`: the frame that answers a
    /// `multiplex_subscribe` that would take the socket past its limit; `channel` is the first
    /// channel not subscribed (it and the rest of that command are skipped).
    static func tooManyChannels(limit: Int, channel: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + channel.utf8.count)
        writer.raw("{\"error\":\"too_many_channels\",\"channel\":")
        writer.string(channel)
        writer.raw(",\"limit\":")
        writer.integer(limit)
        writer.raw("}")
        return writer.bytes
    }

    /// `{"error":"forbidden","channel":"/a"}` (or `unauthorized`, `unavailable`): the frame that
    /// answers a refused subscription on an open socket.
    static func refusal(_ denial: AccessDenial, channel: String) -> [UInt8] {
        let code = switch denial {
        case .forbidden: "forbidden"
        case .unauthenticated, .invalidCredentials: "unauthorized"
        case .unavailable: "unavailable"
        }
        var writer = JSONWriter(capacity: 48 + channel.utf8.count)
        writer.raw("{\"error\":")
        writer.string(code)
        writer.raw(",\"channel\":")
        writer.string(channel)
        writer.raw("}")
        return writer.bytes
    }
}
