import FirehoseCore

/// One channel of the in-memory backend: its sequence, its bounded buffer, its expiry, and its
/// subscribers in an intrusive list (O(1) subscribe and cancel, no per-subscriber allocation
/// beyond the subscription node itself). Loop thread only.
final class MemoryChannel {
    let name: String
    private(set) var sequence = 0
    private(set) var buffer = MessageBuffer<Message>()
    /// Monotonic time at which the channel's data expires; `nil` while it has none or persists.
    var expiresAt: Double?
    /// Position in the backend's expiry heap, or -1.
    var heapIndex = -1

    fileprivate var head: MemorySubscription?
    fileprivate unowned(unsafe) var tail: MemorySubscription?
    /// The node a delivery loop visits next, so a node cancelled mid-delivery is skipped safely.
    fileprivate unowned(unsafe) var cursor: MemorySubscription?
    private(set) var subscriberCount = 0
    fileprivate unowned let backend: MemoryBackend

    init(name: String, backend: MemoryBackend) {
        self.name = name
        self.backend = backend
    }

    /// Whether the channel holds nothing worth keeping: no sequence, no subscriber.
    var isDisposable: Bool { sequence == 0 && subscriberCount == 0 }

    /// Forgets the sequence and the messages, as Redis does when both keys expire.
    func clearData() {
        sequence = 0
        buffer.removeAll()
        expiresAt = nil
    }

    func append(body: [UInt8], bufferSize: Int) -> Message {
        sequence += 1
        let message = Message(channel: name, sequence: sequence, body: body)
        buffer.append(message, limit: bufferSize)
        return message
    }

    /// Replays what a client at `lastSequence` missed, then registers it for live messages.
    func subscribe(lastSequence: Int, subscriber: ChannelSubscriber) -> MemorySubscription? {
        if let range = ReplayWindow.missed(lastSequence: lastSequence, channelSequence: sequence, buffered: buffer.count) {
            let firstBuffered = sequence - buffer.count + 1
            for wanted in range where !subscriber.receive(buffer[wanted - firstBuffered]) {
                return nil
            }
        }
        let node = MemorySubscription(subscriber: subscriber, channel: self, after: sequence)
        node.previous = tail
        if let tail { tail.next = node } else { head = node }
        tail = node
        subscriberCount += 1
        return node
    }

    /// Delivers a freshly published message to every subscriber that was waiting before it.
    func deliver(_ message: Message) {
        cursor = head
        while let node = cursor {
            cursor = node.next
            // A subscription made during this delivery (a client re-polling at once) starts after it.
            guard node.after < message.sequence, let subscriber = node.subscriber else { continue }
            node.after = message.sequence
            if !subscriber.receive(message) { node.cancel() }
        }
    }

    fileprivate func unlink(_ node: MemorySubscription) {
        if cursor === node { cursor = node.next }
        let next = node.next
        if let previous = node.previous { previous.next = next } else { head = next }
        if let next { next.previous = node.previous } else { tail = node.previous }
        node.next = nil
        node.previous = nil
        subscriberCount -= 1
    }
}

/// A subscriber's place in one channel's list.
final class MemorySubscription: SubscriptionHandle {
    fileprivate(set) var subscriber: ChannelSubscriber?
    fileprivate var next: MemorySubscription?
    fileprivate unowned(unsafe) var previous: MemorySubscription?
    private var channel: MemoryChannel?
    /// The last sequence this subscriber has been given (or was level with when it subscribed).
    fileprivate var after: Int

    fileprivate init(subscriber: ChannelSubscriber, channel: MemoryChannel, after: Int) {
        self.subscriber = subscriber
        self.channel = channel
        self.after = after
    }

    func cancel() {
        guard let channel else { return }
        self.channel = nil
        subscriber = nil
        channel.unlink(self)
        channel.backend.releaseIfDisposable(channel)
    }
}
