import FirehoseCore

/// Single-channel long-poll: `GET /<channel>?last_message_sequence=N` answers with one message
/// (see `ReplayWindow`) or waits for the next publish, then 204 at the long-poll timeout.
struct LongPollTransport {
    unowned let context: ServerContext

    func handle(_ request: HTTPRequest, on connection: HTTPConnection) {
        guard let channel = HTTPReplies.channel(of: request) else {
            HTTPReplies.invalidChannel(request, on: connection, context: context)
            return
        }
        let cors = HTTPReplies.cors(request)
        let lastSequence = QueryString.value(of: "last_message_sequence", in: request.query).map { LenientInteger.parse($0) } ?? 0
        guard lastSequence >= 0 else {
            connection.respond(.badRequest, headers: cors, body: HTTPReplies.negativeSequenceBody)
            return
        }
        context.record(.subscribed, channel: channel)
        let poll = LongPollRequest(connection: connection, context: context, cors: cors)
        connection.hold(poll, timeout: context.longPollQueue)
        poll.subscribe([(channel, lastSequence)], multiplexed: false)
    }
}

/// One held long-poll, single or multiplexed: answers exactly once with the first message any of
/// its channels gives it, or 204 at the deadline, and then lets go of every subscription.
final class LongPollRequest: PendingResponse, ChannelSubscriber {
    private unowned let connection: HTTPConnection
    private unowned let context: ServerContext
    private let cors: [(String, String)]
    private var multiplexed = false
    private var subscriptions: [SubscriptionHandle] = []
    private var answered = false

    init(connection: HTTPConnection, context: ServerContext, cors: [(String, String)]) {
        self.connection = connection
        self.context = context
        self.cors = cors
    }

    /// Subscribes in order and stops at the first channel that answers at once, so a multiplexed
    /// request gets the first channel in its list that has something, as the reference's first
    /// response does.
    func subscribe(_ channels: [(String, Int)], multiplexed: Bool) {
        self.multiplexed = multiplexed
        for (channel, lastSequence) in channels {
            guard !answered else { return }
            if let handle = context.backend.subscribe(channel: channel, lastSequence: lastSequence, subscriber: self) {
                if answered { handle.cancel() } else { subscriptions.append(handle) }
            }
        }
    }

    func receive(_ message: Message) -> Bool {
        guard !answered else { return false }
        finish()
        if cors.isEmpty, connection.keepsAlive {
            connection.respond(encoded: multiplexed ? message.multiplexedLongPollResponse : message.longPollResponse)
        } else {
            connection.respond(.ok, headers: cors, shared: multiplexed ? message.multiplexedFrame : message.frame)
        }
        return false
    }

    func timedOut() {
        guard !answered else { return }
        finish()
        context.record(.timeouts)
        connection.respond(.noContent, headers: cors)
    }

    func cancel() {
        finish()
    }

    private func finish() {
        answered = true
        let held = subscriptions
        subscriptions = []
        for handle in held { handle.cancel() }
    }
}
