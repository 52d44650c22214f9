internal import FirehoseCore

/// The upgrade from HTTP: any channel path becomes a single-channel socket, any path containing
/// `channels@firehose` a multiplexed one (subscribing on connect to its `?subscribe=` list), and
/// `/metrics@firehose` answers plain metrics, as the reference does. The access policy judges the
/// channel (or the `?subscribe=` list) before the `101`: a refusal is an HTTP answer.
struct WebSocketTransport {
    unowned(unsafe) let context: ServerContext

    func upgrade(_ request: HTTPRequest, on connection: HTTPConnection) {
        // The HTTP parser stops at an upgrade, so whatever happens this is the last HTTP response.
        connection.closeAfterResponse()
        if ReservedPaths.isMetrics(request.path) {
            connection.respond(.ok, shared: context.metrics.shared(now: EventLoop.unixTime()))
            return
        }
        // A browser's WebSocket is not bound by CORS: the Origin check is the server's to make.
        if let origin = request.value(.origin), !context.configuration.auth.allows(origin: origin) {
            context.logger.debug("\(connection.peerDescription): WebSocket upgrade from origin \(origin), not allowed; 403")
            connection.respond(.forbidden)
            return
        }
        guard let key = request.value(.secWebSocketKey), !key.isEmpty else {
            context.logLimited(.info, "WebSocket upgrade without key", "\(connection.peerDescription): WebSocket upgrade without Sec-WebSocket-Key; 400")
            connection.respond(.badRequest, body: WebSocketTransport.invalidRequest)
            return
        }
        guard let channel = HTTPReplies.channel(of: request) else {
            HTTPReplies.invalidChannel(request, on: connection, context: context)
            return
        }
        let multiplexed = ReservedPaths.isMultiplex(request.path)
        var subscriptions: [MultiplexSubscription] = []
        if multiplexed, let list = QueryString.value(of: "subscribe", in: request.query) {
            do throws(MultiplexSubscription.Failure) {
                subscriptions = try MultiplexSubscription.parseQuery(list, limit: context.configuration.hardening.maxChannelsPerConnection)
            } catch {
                if case let .tooMany(limit) = error {
                    // Refused before the 101, as a multiplexed long-poll would be (spec LIM-1).
                    connection.respond(.badRequest, headers: HTTPReplies.cors(request, context.configuration.auth),
                                       body: HTTPReplies.subscriptionFailed(HTTPReplies.tooManyChannelsReason(limit)))
                    return
                }
                subscriptions = []  // as before: an empty or unusable list subscribes to nothing yet
            }
        }
        let context = self.context
        let judged = multiplexed ? subscriptions.map(\.channel) : [channel]
        connection.authorize(.subscribe, channels: judged, request: request) { until in
            let entry = connection.accessEntry
            guard let bev = connection.detach() else { return }
            let socket = WebSocketConnection(context: context, bev: bev)
            socket.accessEntry = entry
            let session = WebSocketSession(context: context, mode: multiplexed ? .multiplex : .channel(channel),
                                           upgradeRequest: request, socket: socket)
            socket.start(handshake: WebSocketProtocol.handshakeResponse(forKey: key), session: session,
                         subscriptions: subscriptions, expiresAt: until)
        }
    }

    static let invalidRequest = Array("Invalid WebSocket request".utf8)
}
