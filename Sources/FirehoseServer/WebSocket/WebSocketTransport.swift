import FirehoseCore

/// The upgrade from HTTP: any channel path becomes a single-channel socket, any path containing
/// `channels@firehose` a multiplexed one (subscribing on connect to its `?subscribe=` list), and
/// `/metrics@firehose` answers plain metrics, as the reference does.
struct WebSocketTransport {
    unowned let context: ServerContext

    func upgrade(_ request: HTTPRequest, on connection: HTTPConnection) {
        // The HTTP parser stops at an upgrade, so whatever happens this is the last HTTP response.
        connection.closeAfterResponse()
        if request.path.elementsEqual(RequestRouter.metricsPath) {
            connection.respond(.ok, body: context.metrics.encoded(now: EventLoop.unixTime()))
            return
        }
        guard let key = request.value(.secWebSocketKey), !key.isEmpty else {
            context.logger.info("\(connection.peerDescription): WebSocket upgrade without Sec-WebSocket-Key; 400")
            connection.respond(.badRequest, body: WebSocketTransport.invalidRequest)
            return
        }
        guard let channel = HTTPReplies.channel(of: request) else {
            HTTPReplies.invalidChannel(request, on: connection, context: context)
            return
        }
        let multiplexed = RequestRouter.isMultiplexPath(request.path)
        var subscriptions: [MultiplexSubscription] = []
        if multiplexed, let list = QueryString.value(of: "subscribe", in: request.query) {
            subscriptions = (try? MultiplexSubscription.parseQuery(list)) ?? []
        }
        guard let bev = connection.detach() else { return }
        let socket = WebSocketConnection(context: context, bev: bev, mode: multiplexed ? .multiplex : .channel(channel))
        socket.start(handshake: WebSocketProtocol.handshakeResponse(forKey: key), subscriptions: subscriptions)
    }

    static let invalidRequest = Array("Invalid WebSocket request".utf8)
}
