internal import FirehoseCore

/// One held long-poll, single or multiplexed: answers exactly once with the first message any of
/// its channels gives it, or 204 at the deadline, and then lets go of every subscription.
final class LongPollRequest: PendingResponse, ChannelSubscriber {
    private unowned let connection: HTTPConnection
    private unowned(unsafe) let context: ServerContext
    private let cors: [(String, String)]
    private var multiplexed = false
    private var subscriptions: [SubscriptionHandle] = []
    private var answered = false
    /// Not yet done subscribing (from creation: it is held before it subscribes): a drain that
    /// began or begins meanwhile answers only after the catch-up, so a message already due is given.
    private var subscribing = true
    private var drainPending = false

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
            guard !answered else { break }
            if let handle = context.backend.subscribe(channel: channel, lastSequence: lastSequence, subscriber: self) {
                if answered { handle.cancel() } else { subscriptions.append(handle) }
            }
        }
        subscribing = false
        if drainPending { serverDraining() }
    }

    var transport: SubscriberTransport { .longPoll }

    func receive(_ message: Message) -> Bool {
        guard !answered else { return false }
        finish()
        if cors.isEmpty, connection.keepsAlive {
            connection.respond(encoded: message.encoded(as: multiplexed ? LongPollFormats.multiplexedResponse : LongPollFormats.response))
        } else {
            connection.respond(.ok, headers: cors, frame: message.encoded(as: multiplexed ? FirehoseFrame.multiplexed : FirehoseFrame.single))
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

    /// The channel was dropped: 204 now; the client re-polls and waits for the next message.
    func channelDropped() { serverDraining() }

    /// Draining: 204 now, as at the timeout, so the client re-polls (reaching another node).
    func serverDraining() {
        guard !answered else { return }
        guard !subscribing else {
            drainPending = true
            return
        }
        finish()
        connection.respond(.noContent, headers: cors)
    }

    private func finish() {
        answered = true
        let held = subscriptions
        subscriptions = []
        for handle in held { handle.cancel() }
    }
}
