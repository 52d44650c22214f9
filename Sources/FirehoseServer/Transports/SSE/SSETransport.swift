internal import FirehoseCore

/// Server-Sent Events (an extension, spec/sse.md): a `GET` that accepts `text/event-stream`, on a
/// channel or on the multiplexing path, becomes a stream of events that `EventSource` reads,
/// resuming with `Last-Event-ID` after a reconnect. The stream is the HTTP layer's
/// (`HTTPConnection.startStream`); the framing and the subscriptions are this transport's.
struct SSETransport: SubscriptionTransport {
    private unowned(unsafe) let context: ServerContext
    /// Streams with nothing sent for the heartbeat interval get a comment, so proxies keep them.
    private let heartbeats: DeadlineQueue

    init(context: ServerContext) {
        self.context = context
        heartbeats = DeadlineQueue(loop: context.loop, duration: context.configuration.sseHeartbeatInterval)
    }

    func accepts(_ request: HTTPRequest) -> Bool {
        guard let accept = request.value(.accept) else { return false }
        return accept.utf8.count >= SSETransport.mediaType.count && accept.lowercased().contains("text/event-stream")
    }

    func handle(_ request: HTTPRequest, on connection: HTTPConnection) {
        let cors = HTTPReplies.cors(request, context.configuration.auth)
        let multiplexed = ReservedPaths.isMultiplex(request.path)
        var channels: [(String, Int)]
        if multiplexed {
            let list: [MultiplexSubscription]
            do throws(MultiplexSubscription.Failure) {
                list = try MultiplexSubscription.parseQuery(QueryString.value(of: "subscribe", in: request.query) ?? [],
                                                            limit: context.configuration.hardening.maxChannelsPerConnection)
            } catch {
                let reason = switch error {
                case .negativeSequence: "The last_message_sequence parameter may not be less than zero"
                case let .tooMany(limit): HTTPReplies.tooManyChannelsReason(limit)
                default: HTTPReplies.nothingToSubscribeReason
                }
                connection.respond(.badRequest, headers: cors, body: HTTPReplies.subscriptionFailed(reason))
                return
            }
            let resumed = request.value(.lastEventID).map(SSEPosition.parse) ?? [:]
            channels = list.map { ($0.channel, resumed[$0.channel] ?? $0.lastSequence) }
            for (channel, _) in channels { context.record(.subscribed, channel: channel) }
        } else {
            guard let channel = HTTPReplies.channel(of: request) else {
                HTTPReplies.invalidChannel(request, on: connection, context: context)
                return
            }
            let lastSequence = SSETransport.startingSequence(request)
            guard lastSequence >= 0 else {
                connection.respond(.badRequest, headers: cors, body: HTTPReplies.negativeSequenceBody)
                return
            }
            channels = [(channel, lastSequence)]
            context.record(.subscribed, channel: channel)
        }
        let context = self.context
        let heartbeats = self.heartbeats
        connection.authorize(.subscribe, channels: channels.map(\.0), request: request) { until in
            var headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
            if !cors.isEmpty { headers += cors + [("Access-Control-Allow-Credentials", "true")] }
            let session = SSESession(context: context, multiplexed: multiplexed)
            guard let stream = connection.startStream(status: .ok, headers: headers, idleQueue: heartbeats,
                                                      maxQueuedBytes: context.configuration.webSocketMaxBufferedBytes,
                                                      delegate: session) else { return }
            session.start(on: stream, channels: channels)
            if let until { session.expire(at: until) }
        }
    }

    /// Where a single-channel stream starts: `Last-Event-ID`, else `last_event_id`, else
    /// `last_message_sequence`, else 0 (the latest message).
    static func startingSequence(_ request: HTTPRequest) -> Int {
        if let header = request.value(.lastEventID) { return LenientInteger.parse(header) }
        for name in ["last_event_id", "last_message_sequence"] {
            if let value = QueryString.value(of: name, in: request.query) { return LenientInteger.parse(value) }
        }
        return 0
    }

    private static let mediaType = Array("text/event-stream".utf8)
}
