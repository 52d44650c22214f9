internal import FirehoseCore

/// Something that receives a channel's messages: a held long-poll, a WebSocket subscription.
/// Loop thread only.
protocol ChannelSubscriber: AnyObject {
    /// One message, in sequence order. Return `false` to end the subscription now (a long-poll
    /// answers with one message); the backend then sends nothing more.
    func receive(_ message: Message) -> Bool
    /// Which transport this subscriber serves (read once, when it subscribes), for the metrics.
    var transport: SubscriberTransport { get }
    /// The channel was dropped by an operator (admin `DELETE /channels/...`): a waiting long-poll
    /// answers 204; a stream subscriber stays and gets the next message (numbered from 1).
    func channelDropped()
}

extension ChannelSubscriber {
    var transport: SubscriberTransport { .other }
    func channelDropped() {}
}

/// A live subscription; cancelling is O(1) and idempotent.
protocol SubscriptionHandle: AnyObject {
    func cancel()
}

enum PublishOutcome {
    /// Stored with this sequence (and handed to local subscribers, now or right after).
    /// `delivered`: this node's subscribers have it already, so the `202` may wait for the rest of
    /// the loop round's deliveries (`PublishAcks`); otherwise it is sent at once, ahead of a
    /// fan-out still to come.
    case accepted(sequence: Int, delivered: Bool = false)
    /// The backend cannot store it now; nothing was published.
    case unavailable(reason: String)
}

/// The narrow seam between transports and storage, as in Nchan's `store` interface: long-poll,
/// multiplexing and WebSocket code talk only to this, so every transport works with every backend.
///
/// Completions may run synchronously (memory) or later on the loop (Redis); callers must accept
/// both. The replay rule (`ReplayWindow`) is the backend's to apply, so that a subscriber's
/// catch-up and its live messages come from one place, in order, without gaps.
protocol ChannelBackend: AnyObject {
    /// A short name for logs and the start-up line.
    var name: String { get }

    /// Channels this node holds now: all live channels for memory; for Redis, the channels with
    /// subscribers on this node (the store's own count is not this node's to know cheaply).
    var channelCount: Int { get }

    /// Stores a message as the channel's next sequence and delivers it to its subscribers.
    func publish(channel: String, body: [UInt8], options: PublishOptions, completion: @escaping (PublishOutcome) -> Void)

    /// Sends `subscriber` what it missed since `lastSequence` (see `ReplayWindow`), then every new
    /// message, until it returns `false` or the handle is cancelled. Returns `nil` when the
    /// subscriber already declined more messages during catch-up.
    func subscribe(channel: String, lastSequence: Int, subscriber: ChannelSubscriber) -> SubscriptionHandle?

    /// Whether this node can store and deliver right now (the `HEAD` health check).
    func ping(_ completion: @escaping (Bool) -> Void)

    /// Deliveries and live subscriptions on this node, by transport (the admin `/metrics`).
    var deliveryStats: DeliveryStats { get }
}
