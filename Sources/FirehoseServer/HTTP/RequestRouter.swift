internal import FirehoseCore

/// A transport that serves some GET requests as a long-lived subscription of its own (a stream,
/// an upgrade), asked before the plain long-poll: the first that `accepts` a request handles it.
protocol SubscriptionTransport {
    func accepts(_ request: HTTPRequest) -> Bool
    func handle(_ request: HTTPRequest, on connection: HTTPConnection)
}

/// Sends each request to the handler the reference would use: PUT publishes on any path (it is
/// dispatched before paths are looked at), HEAD pings, the exact path `/metrics@firehose` shows
/// metrics, any path containing `channels@firehose` multiplexes, and GET long-polls. Built after
/// the `ServerContext`, which knows nothing of it. Loop thread only.
final class RequestRouter: HTTPRequestRouting {
    private let context: ServerContext
    private let publish: PublishHandler
    private let longPoll: LongPollTransport
    private let multiplexLongPoll: MultiplexLongPollTransport
    private let webSocket: WebSocketTransport
    private let webAssets: WebAssetRoutes
    /// Transports that take over some GETs (before long-poll), in the order they are asked.
    private let subscriptionTransports: [SubscriptionTransport]

    init(context: ServerContext) {
        self.context = context
        publish = PublishHandler(context: context)
        longPoll = LongPollTransport(context: context)
        multiplexLongPoll = MultiplexLongPollTransport(context: context)
        webSocket = WebSocketTransport(context: context)
        webAssets = WebAssetRoutes(configuration: context.configuration)
        subscriptionTransports = [SSETransport(context: context)]
    }

    func route(_ request: HTTPRequest, on connection: HTTPConnection) {
        context.logger.debug("\(request.method) \(String(decoding: request.target, as: UTF8.self))")
        if request.isUpgrade {
            if request.method == "GET", request.value(.upgrade)?.lowercased() == "websocket" {
                webSocket.upgrade(request, on: connection)
                return
            }
            // Another protocol (h2c...): answer over HTTP/1.1, then close, since the parser stops here.
            connection.closeAfterResponse()
        }
        switch request.method {
        case "PUT":
            publish.handle(request, on: connection)
        case "HEAD":
            ping(request, on: connection)
        default:
            if request.method == "GET", ReservedPaths.isHealth(request.path) {
                HealthCheck(context: context).ready(on: connection)
                return
            }
            if ReservedPaths.isMetrics(request.path) {
                guard context.configuration.operations.publicMetrics else {
                    // Hidden (`--public-metrics off`): still reserved, never a channel.
                    connection.respond(.notFound, headers: HTTPReplies.textPlain, body: Array("Not found\n".utf8))
                    return
                }
                connection.respond(.ok, shared: context.metrics.shared(now: EventLoop.unixTime()))
                return
            }
            if request.method == "GET", webAssets.handle(request, on: connection) { return }
            if request.method == "GET", let transport = subscriptionTransports.first(where: { $0.accepts(request) }) {
                transport.handle(request, on: connection)
            } else if ReservedPaths.isMultiplex(request.path) {
                multiplexLongPoll.handle(request, on: connection)
            } else if request.method == "GET" {
                longPoll.handle(request, on: connection)
            } else if request.method == "OPTIONS", context.configuration.auth.answersPreflight {
                CORSPreflight.answer(request, on: connection, auth: context.configuration.auth)
            } else {
                HTTPReplies.methodNotAllowed(request, on: connection, context: context)
            }
        }
    }

    /// The health check. For memory it cannot fail; for Redis it is a real round trip. 503
    /// while draining.
    private func ping(_ request: HTTPRequest, on connection: HTTPConnection) {
        HealthCheck(context: context).ready(on: connection, includeBody: false)
    }
}
