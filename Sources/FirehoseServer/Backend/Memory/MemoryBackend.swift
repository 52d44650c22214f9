internal import FirehoseCore

/// The single-node backend: every channel lives in this process. Loop thread only.
///
/// Channels expire `ttl` seconds after their last publish (then the next publish starts again at
/// sequence 1, as with Redis key expiry), and a channel with no data and no subscriber is freed at
/// once, so one-off channels cost nothing after they are done.
final class MemoryBackend: ChannelBackend, LocalChannelOwner {
    let name = "memory"
    private let loop: EventLoop
    private let logger: Logger
    /// Internal for the admin extension (Admin/MemoryBackend+Admin.swift).
    var channels: [String: LocalChannel] = [:]
    let deliveryStats = DeliveryStats()
    private var expiries = ExpiryHeap()
    private var sweepTimer: LoopTimer!
    /// How often expired channels are swept; lookups also check expiry, so this only bounds memory.
    private let sweepInterval: Double = 1

    /// Bytes held by every channel's buffer, against `--max-memory` (spec LIM-6).
    let budget: MemoryBudget

    init(loop: EventLoop, logger: Logger, maxMemory: Int = .max) {
        self.loop = loop
        self.logger = logger
        budget = MemoryBudget(limit: maxMemory)
        sweepTimer = LoopTimer(loop: loop) { [unowned self] in self.sweep() }
    }

    var channelCount: Int { channels.count }

    /// A channel with at most this many subscribers gets its message before the publisher gets
    /// its 202: their frames leave first, so a client that reads both (a publisher subscribed to
    /// its own channels, a benchmark) handles the delivery before it sends its next publish. On a
    /// larger channel the 202 goes first, so that a publisher never waits for a long fan-out.
    /// Measured on 100 channels x 1 WebSocket, 8 publishers (`ws100ch`): p50 0.085 -> 0.075 ms.
    /// Such a publish reports itself `delivered`, and its 202 then also waits for the deliveries
    /// of the other publishes read in the same loop round (`PublishAcks`).
    static let deliverBeforeAcceptingUpTo = 16

    func publish(channel name: String, body: [UInt8], options: PublishOptions, completion: @escaping (PublishOutcome) -> Void) {
        let now = EventLoop.now()
        let channel = lookup(name, now: now)
        guard channel.canAppend else {
            // Only a loaded state file could bring a channel here (2^63 publishes otherwise).
            completion(.unavailable(reason: "The channel's sequence is at its maximum; nothing was published."))
            return
        }
        let message = Message(channel: name, sequence: channel.sequence + 1, body: body)
        let delta = channel.costOfAppending(message, bufferSize: options.bufferSize)
        guard budget.admits(delta) else {
            // Refused, not evicted: what subscribers may still need to catch up on is kept, and
            // the publisher hears at once that it must retry (spec LIM-6).
            completion(.unavailable(reason: "Memory limit reached: channel buffers hold \(budget.used) of \(budget.limit) bytes"))
            releaseIfDisposable(channel)
            return
        }
        channel.append(message, bufferSize: options.bufferSize)
        if options.persist {
            channel.expiresAt = nil
            expiries.remove(channel)
        } else {
            channel.expiresAt = now + Double(options.ttl)
            expiries.update(channel)
            if !sweepTimer.isPending { sweepTimer.schedule(after: sweepInterval) }
        }
        if channel.subscriberCount <= Self.deliverBeforeAcceptingUpTo {
            channel.deliver(message)
            completion(.accepted(sequence: message.sequence, delivered: true))
        } else {
            // Stored: the publisher hears so before the fan-out, which may take a while on a busy channel.
            completion(.accepted(sequence: message.sequence))
            channel.deliver(message)
        }
        if !options.persist, options.ttl <= 0 {
            // max-age=0: Redis deletes both keys at once; the message was still delivered live.
            expire(channel)
        }
    }

    func subscribe(channel name: String, lastSequence: Int, subscriber: ChannelSubscriber) -> SubscriptionHandle? {
        let channel = lookup(name, now: EventLoop.now())
        let handle = channel.subscribe(lastSequence: lastSequence, subscriber: subscriber)
        if handle == nil { releaseIfDisposable(channel) }
        return handle
    }

    func ping(_ completion: @escaping (Bool) -> Void) {
        completion(true)
    }

    /// A channel with no sequence and no subscriber holds nothing worth keeping.
    func releaseIfDisposable(_ channel: LocalChannel) {
        guard channel.sequence == 0, !channel.hasSubscribers, channels[channel.name] === channel else { return }
        expiries.remove(channel)
        channels.removeValue(forKey: channel.name)
    }

    /// The channel, created if needed, with its data cleared if it has expired.
    func lookup(_ name: String, now: Double) -> LocalChannel {
        if let channel = channels[name] {
            if let expiresAt = channel.expiresAt, expiresAt <= now { expire(channel, keep: true) }
            return channel
        }
        let channel = LocalChannel(name: name, owner: self)
        channel.budget = budget
        channels[name] = channel
        return channel
    }

    func expire(_ channel: LocalChannel, keep: Bool = false) {
        channel.clearData()
        expiries.remove(channel)
        if !keep { releaseIfDisposable(channel) }
    }

    private func sweep() {
        let now = EventLoop.now()
        var expired = 0
        while let channel = expiries.soonest(), let expiresAt = channel.expiresAt, expiresAt <= now {
            expire(channel)
            expired += 1
        }
        if expired > 0 { logger.debug("expired \(expired) channel(s); \(channels.count) left") }
        if !expiries.isEmpty { sweepTimer.schedule(after: sweepInterval) }
    }

    /// A channel's expiry deadline (tests).
    func expiresAtForTests(_ name: String) -> Double? { channels[name]?.expiresAt }

    // MARK: state file (--state-file)

    /// Writes every live channel (sequence, buffered messages, lifetime left) to `path`
    /// atomically. Returns how many channels were written.
    @discardableResult
    func saveState(to path: String, limit: Int) throws(MemoryState.Failure) -> Int {
        let now = EventLoop.now()
        var saved: [MemoryState.Channel] = []
        for channel in channels.values where channel.sequence > 0 {
            if let expiresAt = channel.expiresAt, expiresAt <= now { continue }
            let bodies = (0..<channel.buffer.count).map { channel.buffer[$0].body }
            let left = channel.expiresAt.map { Int((($0 - now) * 1000).rounded(.up)) }
            saved.append(MemoryState.Channel(name: channel.name, sequence: channel.sequence, millisecondsLeft: left, bodies: bodies))
        }
        let state = MemoryState(savedAtMilliseconds: MemoryState.wallClockMilliseconds(), channels: saved)
        try MemoryState.write(try state.encoded(limit: limit), to: path)
        return saved.count
    }

    /// Loads what `saveState` wrote, before any client is served. The time the server was down
    /// counts against each channel's lifetime. Returns how many channels were loaded (0 with no
    /// file); on any error nothing is loaded.
    @discardableResult
    func loadState(from path: String, limit: Int) throws(MemoryState.Failure) -> Int {
        guard let bytes = try MemoryState.read(from: path, limit: limit) else { return 0 }
        let state = try MemoryState(decoding: bytes)
        let now = EventLoop.now()
        let downFor = Double(max(0, MemoryState.wallClockMilliseconds() - state.savedAtMilliseconds)) / 1000
        var loaded = 0
        for saved in state.channels {
            let left = saved.millisecondsLeft.map { Double($0) / 1000 - downFor }
            if let left, left <= 0 { continue }  // expired while the server was down
            let channel = LocalChannel(name: saved.name, owner: self)
            channel.budget = budget  // charged, but loaded even past --max-memory (publishes then wait)
            channel.restore(sequence: saved.sequence, bodies: saved.bodies)
            channels[saved.name] = channel
            if let left {
                channel.expiresAt = now + left
                expiries.update(channel)
            }
            loaded += 1
        }
        if !expiries.isEmpty, !sweepTimer.isPending { sweepTimer.schedule(after: sweepInterval) }
        return loaded
    }
}
