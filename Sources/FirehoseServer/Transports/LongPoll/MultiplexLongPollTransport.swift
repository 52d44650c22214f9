internal import FirehoseCore

/// Multiplexed long-poll on any path containing `channels@firehose`: `GET ?subscribe=/a!1,/b!2`
/// or `POST` with a JSON body. Unlike the reference, which writes one response per channel on
/// the same connection (corrupting keep-alive), it answers exactly once per request.
struct MultiplexLongPollTransport {
    unowned(unsafe) let context: ServerContext

    func handle(_ request: HTTPRequest, on connection: HTTPConnection) {
        let cors = HTTPReplies.cors(request, context.configuration.auth)
        let subscriptions: [MultiplexSubscription]
        let limit = context.configuration.hardening.maxChannelsPerConnection
        do throws(MultiplexSubscription.Failure) {
            switch request.method {
            case "GET":
                subscriptions = try MultiplexSubscription.parseQuery(QueryString.value(of: "subscribe", in: request.query) ?? [], limit: limit)
            case "POST":
                subscriptions = try MultiplexSubscription.parseBody(request.body, limit: limit)
            default:
                HTTPReplies.methodNotAllowed(request, on: connection, context: context)
                return
            }
        } catch {
            let body: [UInt8]
            switch error {
            case .nothingToSubscribe: body = HTTPReplies.subscriptionFailed(HTTPReplies.nothingToSubscribeReason)
            case .negativeSequence: body = HTTPReplies.negativeSequenceBody
            case let .invalid(reason): body = HTTPReplies.subscriptionFailed(reason)
            case let .tooMany(limit): body = HTTPReplies.subscriptionFailed(HTTPReplies.tooManyChannelsReason(limit))
            }
            context.logger.debug("multiplexed \(request.method) refused: \(String(decoding: body, as: UTF8.self))")
            connection.respond(.badRequest, headers: cors, body: body)
            return
        }
        for subscription in subscriptions {
            context.record(.subscribed, channel: subscription.channel)
            context.record(.subscribedMultiplexedLongPolling, channel: subscription.channel)
        }
        let context = self.context
        // Any channel the policy refuses refuses the whole request, naming none of them.
        connection.authorize(.subscribe, channels: subscriptions.map(\.channel), request: request) { _ in
            let poll = LongPollRequest(connection: connection, context: context, cors: cors)
            connection.hold(poll, timeout: context.longPollQueue)
            poll.subscribe(subscriptions.map { ($0.channel, $0.lastSequence) }, multiplexed: true)
        }
    }
}
