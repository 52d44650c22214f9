internal import FirehoseCore

/// Whoever keeps `LocalChannel`s: told when a channel may have become disposable.
protocol LocalChannelOwner: AnyObject {
    func releaseIfDisposable(_ channel: LocalChannel)
    var deliveryStats: DeliveryStats { get }
}

/// A channel as this process holds it: its sequence, its bounded window of newest messages, its
/// expiry, and its local subscribers in an intrusive list (O(1) subscribe and cancel, no
/// per-subscriber allocation beyond the node). The memory backend keeps the channel's whole state
/// here; the Redis backend keeps a window fed by pub/sub. Loop thread only.
final class LocalChannel {
    let name: String
    private(set) var sequence = 0
    private(set) var buffer = MessageBuffer<Message>()
    /// Monotonic time at which the channel's data expires; `nil` while it has none or persists.
    var expiresAt: Double?
    /// Position in the backend's expiry heap, or -1.
    var heapIndex = -1
    /// The deadline the heap placed this channel by: at most `expiresAt` (`ExpiryHeap`).
    var heapKey = Double.infinity

    fileprivate var head: ChannelSubscription?
    fileprivate unowned(unsafe) var tail: ChannelSubscription?
    /// The node a delivery loop visits next, so a node cancelled mid-delivery is skipped safely.
    fileprivate unowned(unsafe) var cursor: ChannelSubscription?
    fileprivate unowned let owner: LocalChannelOwner
    /// The owner's counters, held here so a fan-out reaches them without going through `owner`.
    private let stats: DeliveryStats
    /// Where the buffer's bytes are counted (the memory backend's `--max-memory`), if anywhere.
    var budget: MemoryBudget?
    /// What this channel's buffer is charged in `budget`.
    private(set) var bufferedBytes = 0
    /// The part of each message's charge that depends only on the channel's name, computed once:
    /// counted again for every message, it was 3,400 of a publish's 29,800 instructions (callgrind).
    private lazy var messageOverhead = MemoryBudget.overhead(channel: name)

    init(name: String, owner: LocalChannelOwner) {
        self.name = name
        self.owner = owner
        stats = owner.deliveryStats
    }

    /// Live local subscribers by transport (`SubscriberTransport` order): O(subscribers), for
    /// the admin channel info only.
    func subscriberCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: SubscriberTransport.allCases.count)
        var node = head
        while let current = node {
            if current.subscriber != nil { counts[current.transport] += 1 }
            node = current.next
        }
        return counts
    }

    /// An operator dropped the channel: its data go as at expiry (`clearData`), and every local
    /// subscriber hears `channelDropped` (a waiting long-poll answers 204).
    func drop() {
        clearData()
        var subscribers: [ChannelSubscriber] = []
        var node = head
        while let current = node {
            if let subscriber = current.subscriber { subscribers.append(subscriber) }
            node = current.next
        }
        for subscriber in subscribers { subscriber.channelDropped() }
    }

    /// Set when the store was found to have forked from this window (a failover lost the newest
    /// messages, or a flush or restart replaced them): the last sequence both still agree on, and
    /// the newest sequence this window had held. A client coming back with a sequence in
    /// `fork+1...through` that the channel has not reached again saw only the lost messages: it
    /// resumes from `fork`. Forgotten once the channel passes `through` (from then on a sequence
    /// cannot tell an old position from a new one).
    private(set) var lostTail: (fork: Int, through: Int)?

    /// Bytes of message bodies in the window (for the admin channel info and gauges; the memory
    /// budget's `bufferedBytes` also charges encodings and overhead).
    var bufferedBodyBytes: Int {
        var total = 0
        for index in 0..<buffer.count { total += buffer[index].body.count }
        return total
    }

    var hasSubscribers: Bool { head != nil }
    /// Live local subscriptions (kept by `register` and `unlink`).
    private(set) var subscriberCount = 0

    /// Forgets the sequence and the messages, as Redis does when both keys expire. Waiting
    /// subscribers stay and will get the next message, whatever its number (it restarts at 1).
    func clearData() {
        sequence = 0
        lostTail = nil
        buffer.removeAll()
        recharge(0)
        expiresAt = nil
        var node = head
        while let current = node {
            current.after = 0
            node = current.next
        }
    }

    /// Whether one more message can be numbered (the sequence is not at `Int.max`).
    var canAppend: Bool { sequence < Int.max }

    func append(body: [UInt8], bufferSize: Int) -> Message {
        precondition(canAppend, "callers check canAppend")
        let message = Message(channel: name, sequence: sequence + 1, body: body)
        append(message, bufferSize: bufferSize)
        return message
    }

    /// Appends a message whose sequence is the next one (a publish seen on Redis pub/sub).
    func append(_ message: Message, bufferSize: Int) {
        let delta = budget == nil ? 0 : costOfAppending(message, bufferSize: bufferSize)
        sequence = message.sequence
        buffer.append(message, limit: bufferSize)
        if budget != nil { recharge(bufferedBytes &+ delta) }
        if lostTail != nil { forgetLostTailIfPassed() }
    }

    /// The change in `bufferedBytes` that appending `message` would make: its cost (when it is
    /// kept at all) less that of the messages it pushes out of the window.
    func costOfAppending(_ message: Message, bufferSize: Int) -> Int {
        guard bufferSize > 0 else { return -bufferedBytes }
        var delta = MemoryBudget.cost(of: message, overhead: messageOverhead)
        let dropped = buffer.count - (bufferSize - 1)
        if dropped > 0 { for index in 0..<dropped { delta &-= MemoryBudget.cost(of: buffer[index], overhead: messageOverhead) } }
        return delta
    }

    private func recharge(_ bytes: Int) {
        budget?.add(bytes &- bufferedBytes)
        bufferedBytes = bytes
    }

    /// Sets the channel's state as a state file recorded it (`bodies` oldest first, ending at `sequence`).
    func restore(sequence: Int, bodies: [[UInt8]]) {
        buffer.removeAll()
        let first = sequence - bodies.count + 1
        for (offset, body) in bodies.enumerated() {
            buffer.append(Message(channel: name, sequence: first + offset, body: body), limit: bodies.count)
        }
        self.sequence = sequence
        if budget != nil { recharge((0..<buffer.count).reduce(0) { $0 &+ MemoryBudget.cost(of: buffer[$1], overhead: messageOverhead) }) }
    }

    /// Where the store's history leaves this window's, or nil when it continues it. Compares the
    /// bodies at every sequence both hold: the first that differs is where they forked (0 when
    /// they differ from the first one compared: nothing in common is known). With nothing to
    /// compare, a store behind the window counts as a reset (0), one level or ahead as continuing.
    /// A store that agrees on everything it holds but ends before the window lost its tail.
    /// Bodies are all a store keeps, so two histories with equal bodies at equal sequences look
    /// the same: that is the one case this cannot tell.
    func forkPoint(with snapshot: ChannelSnapshot) -> Int? {
        guard sequence > 0, !buffer.isEmpty else { return snapshot.sequence < sequence ? 0 : nil }
        let held = snapshot.newestFirst.count
        // No step here can overflow, whatever sequence the store reports.
        let storeOldest = snapshot.sequence > held ? snapshot.sequence - held + 1 : 1
        let low = max(sequence - buffer.count + 1, storeOldest)
        let high = min(sequence, snapshot.sequence)
        guard low <= high else { return snapshot.sequence < sequence ? 0 : nil }
        for wanted in low...high where buffered(wanted)!.body != snapshot.newestFirst[snapshot.sequence - wanted] {
            return wanted == low ? 0 : wanted - 1
        }
        return snapshot.sequence < sequence ? high : nil
    }

    /// The store forked from this window after `fork` (see `forkPoint`): every local subscriber
    /// that was given more than `fork` goes back to it, so it is given the store's messages after
    /// it (those that replaced what it saw), and a client coming back later from the lost
    /// sequences resumes from `fork` too (`lostTail`).
    func rewind(to fork: Int) {
        guard fork < sequence else { return }
        // With nothing in common (0), a client ahead is served by the reset rule (`ReplayWindow`).
        lostTail = fork > 0 ? (fork, max(sequence, lostTail?.through ?? 0)) : nil
        var node = head
        while let current = node {
            current.after = min(current.after, fork)
            node = current.next
        }
    }

    /// Replaces the window with what the store holds. Messages the window already has are kept
    /// (with their encodings) only when the store holds the same body at that sequence: after a
    /// flush or restart the store can come back at the same sequences with different messages.
    func adopt(_ snapshot: ChannelSnapshot, bufferSize: Int) {
        let messages = snapshot.newestFirst.indices.map { index in
            let wanted = snapshot.sequence - index
            if let kept = buffered(wanted), kept.body == snapshot.newestFirst[index] { return kept }
            return snapshot.message(at: wanted, channel: name)
        }
        sequence = snapshot.sequence
        buffer.removeAll()
        recharge(0)
        for message in messages.reversed() { append(message, bufferSize: bufferSize) }
        sequence = snapshot.sequence
        forgetLostTailIfPassed()
    }

    private func forgetLostTailIfPassed() {
        if let lostTail, sequence >= lostTail.through { self.lostTail = nil }
    }

    /// The buffered message with this sequence, if the window still holds it.
    /// (Written so that no step can overflow, even with a sequence at `Int.max`.)
    func buffered(_ wanted: Int) -> Message? {
        guard !buffer.isEmpty, wanted <= sequence else { return nil }
        let firstBuffered = sequence - (buffer.count - 1)
        guard wanted >= firstBuffered else { return nil }
        return buffer[wanted - firstBuffered]
    }

    /// The one catch-up procedure of every backend: replays what a client at `lastSequence`
    /// missed (the `ReplayWindow` rule, applied to `snapshot` when a store supplied one, else to
    /// this window), then registers the client for live messages after the right sequence. Returns
    /// nil when the subscriber declined more messages during the replay.
    ///
    /// With a snapshot, the window may already be ahead of it (pub/sub brought newer messages
    /// while the read was under way): the client is registered after what it has seen, and
    /// `deliverBuffered` gives it the rest from the window.
    ///
    /// A client ahead of the source (the channel was reset under it) gets the new generation
    /// (`ReplayWindow`), judged against the snapshot when there is one: the store is the truth, a
    /// node's window may lag. The one exception is a window that pub/sub has already moved past
    /// the snapshot (it only ever does so with the very next sequences, so it is the same
    /// generation): a client within it is level or behind there, not ahead. And a client ahead
    /// only by messages the store lost (`lostTail`) resumes from where the histories forked.
    func subscribe(lastSequence: Int, subscriber: ChannelSubscriber, from snapshot: ChannelSnapshot? = nil) -> ChannelSubscription? {
        let sourceSequence = snapshot?.sequence ?? sequence
        var lastSequence = lastSequence
        if let lostTail, lastSequence > max(sourceSequence, sequence), lastSequence > lostTail.fork, lastSequence <= lostTail.through {
            lastSequence = lostTail.fork  // it saw only messages the store lost: it resumes where they forked
        }
        if snapshot != nil, lastSequence > sourceSequence, lastSequence <= sequence {
            return register(subscriber, after: lastSequence)  // the caller's deliverBuffered gives the rest
        }
        let available = snapshot?.newestFirst.count ?? buffer.count
        if let range = ReplayWindow.missed(lastSequence: lastSequence, channelSequence: sourceSequence, buffered: available) {
            let transport = subscriber.transport.rawValue
            for wanted in range {
                let message = buffered(wanted) ?? snapshot!.message(at: wanted, channel: name)
                stats.delivered[transport] &+= 1
                if !subscriber.receive(message) { return nil }
            }
        }
        // Whatever was replayed (all of the source up to its sequence, or nothing to give), the
        // client is now level with the source; newer messages in the window come by deliverBuffered.
        return register(subscriber, after: sourceSequence)
    }

    /// Registers a subscriber that has been given everything up to `after`.
    func register(_ subscriber: ChannelSubscriber, after: Int) -> ChannelSubscription {
        let node = ChannelSubscription(subscriber: subscriber, channel: self, after: after)
        stats.subscriptions[node.transport] &+= 1
        subscriberCount += 1
        node.previous = tail
        if let tail { tail.next = node } else { head = node }
        tail = node
        return node
    }

    /// Delivers a freshly published message to every subscriber that was waiting before it, even
    /// when the channel buffers nothing (buffer size 0 still delivers live).
    func deliver(_ message: Message) {
        let delivered = stats.delivered
        cursor = head
        while let node = cursor {
            cursor = node.next
            // A subscription made during this delivery (a client re-polling at once) starts after it.
            guard node.after < message.sequence, let subscriber = node.subscriber else { continue }
            node.after = message.sequence
            delivered[node.transport] &+= 1
            if !subscriber.receive(message) { node.cancel() }
        }
    }

    /// After a gap was filled from the store: gives every subscriber, oldest first, what it missed
    /// that the window still holds.
    func deliverBuffered() {
        guard !buffer.isEmpty else { return }
        let beforeBuffered = sequence - buffer.count  // >= -1: no overflow at either end
        cursor = head
        while let node = cursor {
            cursor = node.next
            var last = max(node.after, beforeBuffered)
            while last < sequence, let subscriber = node.subscriber {
                last += 1
                node.after = last
                stats.delivered[node.transport] &+= 1
                if !subscriber.receive(buffered(last)!) {
                    node.cancel()
                    break
                }
            }
        }
    }

    fileprivate func unlink(_ node: ChannelSubscription) {
        stats.subscriptions[node.transport] &-= 1
        subscriberCount -= 1
        if cursor === node { cursor = node.next }
        let next = node.next
        if let previous = node.previous { previous.next = next } else { head = next }
        if let next { next.previous = node.previous } else { tail = node.previous }
        node.next = nil
        node.previous = nil
    }
}

/// What a store holds for one channel at one moment (the Redis backend's atomic read): its
/// sequence and its newest message bodies, newest first.
struct ChannelSnapshot {
    let sequence: Int
    let newestFirst: [[UInt8]]

    /// The oldest sequence the snapshot holds a body for (`sequence + 1` when it holds none).
    var oldestHeld: Int {
        newestFirst.isEmpty ? sequence &+ 1 : sequence &- (newestFirst.count - 1)
    }

    /// The message with sequence `wanted`, which the snapshot must hold.
    func message(at wanted: Int, channel: String) -> Message {
        Message(channel: channel, sequence: wanted, body: newestFirst[sequence - wanted])
    }
}

/// A subscriber's place in one channel's list.
final class ChannelSubscription: SubscriptionHandle {
    fileprivate(set) var subscriber: ChannelSubscriber?
    fileprivate var next: ChannelSubscription?
    fileprivate unowned(unsafe) var previous: ChannelSubscription?
    private var channel: LocalChannel?
    /// The last sequence this subscriber has been given (or was level with when it subscribed).
    fileprivate var after: Int
    /// `SubscriberTransport.rawValue` of the subscriber, read once.
    fileprivate let transport: Int

    fileprivate init(subscriber: ChannelSubscriber, channel: LocalChannel, after: Int) {
        transport = subscriber.transport.rawValue
        self.subscriber = subscriber
        self.channel = channel
        self.after = after
    }

    func cancel() {
        guard let channel else { return }
        self.channel = nil
        subscriber = nil
        channel.unlink(self)
        channel.owner.releaseIfDisposable(channel)
    }
}
