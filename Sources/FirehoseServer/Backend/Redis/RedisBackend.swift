internal import FirehoseCore

/// Channels stored in Redis, shared by every node pointed at it, key-compatible with Ruby Firehose.
///
/// Each node keeps one pub/sub connection and, for every channel with local subscribers, a
/// window of its newest messages fed by pub/sub (`LocalChannel`). A publish reaches all local
/// subscribers of a channel from that window: O(1) Redis work per publish per node however many
/// subscribers wait. Subscribers that are behind are caught up from one atomic read of the
/// sequence and list. A pub/sub message that is not the next sequence (a race with a read, or
/// pub/sub was down) triggers a read that fills the gap before anything newer is delivered.
/// Loop thread only.
final class RedisBackend: ChannelBackend, LocalChannelOwner {
    let name = "redis"
    private let logger: Logger
    let commands: RedisConnection
    let pubsub: RedisConnection
    private var updates: SubscriptionHandler!
    /// The window size for messages that arrive by pub/sub (the store's own list may be longer).
    private let windowSize: Int
    private var scriptSHA: [UInt8]?
    private(set) var pubsubReady = false
    /// Channels with local subscribers (or subscribers waiting for a read), and whether the window
    /// is known to be current.
    /// Internal for the admin extension (Admin/RedisBackend+Admin.swift).
    var channels: [String: LocalChannel] = [:]
    let deliveryStats = DeliveryStats()
    private var synced: Set<String> = []
    private var reads: [String: ChannelRead] = [:]
    private var retryTimer: LoopTimer!
    /// Channels whose last local subscriber left, and when (`EventLoop.now()`). Their windows stay,
    /// current through pub/sub, for `idleRetention` seconds: a long-poll client re-polls right
    /// after each answer, and when the window went with the poll that emptied it, every re-poll
    /// after a fan-out became a Redis read (1,000 long-polls, 200 messages at 20/s: one read and
    /// 1,000 pending subscriptions per message, ~0.4 s of the node's 3.6 s of CPU).
    private var idle: [String: Double] = [:]
    private var idleSweep: LoopTimer!
    static let idleRetention = 5.0
    /// With `--redis-sentinels`: where the master is; it starts the data connections.
    private var sentinel: RedisSentinelMonitor?
    /// With `--redis-min-replicas`: the replicas' confirmation of every publish.
    private var replicaWait: RedisReplicaWait?

    init(loop: EventLoop, logger: Logger, endpoint: RedisEndpoint, timeout: Double, windowSize: Int,
         ha: RedisHAConfiguration = RedisHAConfiguration()) {
        self.logger = logger
        self.windowSize = max(1, windowSize)
        commands = RedisConnection(role: "command", loop: loop, logger: logger, endpoint: endpoint, timeout: timeout)
        pubsub = RedisConnection(role: "pub/sub", loop: loop, logger: logger, endpoint: endpoint, timeout: timeout)
        retryTimer = LoopTimer(loop: loop) { [unowned self] in self.retryReads() }
        idleSweep = LoopTimer(loop: loop) { [unowned self] in self.sweepIdle() }
        updates = SubscriptionHandler { [unowned self] reply in self.update(reply) }
        commands.onReady = { [unowned self] in self.commandsReady() }
        pubsub.onReady = { [unowned self] in
            self.pubsub.subscribe([Array("SUBSCRIBE".utf8), RedisKeys.updatesChannel], handler: self.updates)
        }
        pubsub.onLost = { [unowned self] in
            self.pubsubReady = false
            self.synced.removeAll()  // anything may be published while we cannot hear it
        }
        if ha.minReplicas > 0 {
            replicaWait = RedisReplicaWait(commands: commands, minReplicas: ha.minReplicas, timeoutMilliseconds: ha.replicaTimeoutMilliseconds)
        }
        if let masterName = ha.masterName, !ha.sentinels.isEmpty {
            let monitor = RedisSentinelMonitor(loop: loop, logger: logger, sentinels: ha.sentinels, masterName: masterName,
                                               timeout: timeout, dataConnections: [commands, pubsub])
            sentinel = monitor
            monitor.start()
        } else {
            commands.start()
            pubsub.start()
        }
    }

    var channelCount: Int { channels.count }

    /// Subscriptions waiting for a catch-up read (for tests and diagnostics).
    var waitingForReads: Int { reads.values.reduce(0) { $0 + $1.waiting.count } }

    // MARK: publishing

    func publish(channel: String, body: [UInt8], options: PublishOptions, completion: @escaping (PublishOutcome) -> Void) {
        guard commands.isConnected else {
            let cause = commands.lastFailure.map { " (\($0))" } ?? ""
            completion(.unavailable(reason: "Redis is unavailable\(cause); the message was not published."))
            return
        }
        evalPublish(channel: channel, body: body, options: options, retryOnNoScript: true, completion: completion)
    }

    private func evalPublish(channel: String, body: [UInt8], options: PublishOptions, retryOnNoScript: Bool,
                             completion: @escaping (PublishOutcome) -> Void) {
        guard let replicaWait else {
            sendPublish(channel: channel, body: body, options: options, retryOnNoScript: retryOnNoScript, completion: completion,
                        answered: completion)
            return
        }
        replicaWait.publish(completion: completion) { publish in
            sendPublish(channel: channel, body: body, options: options, retryOnNoScript: retryOnNoScript, completion: completion,
                        answered: { publish.outcome = $0 })
        }
    }

    /// The publish script; `answered` gets its outcome (the replicas, if required, confirm later).
    private func sendPublish(channel: String, body: [UInt8], options: PublishOptions, retryOnNoScript: Bool,
                             completion: @escaping (PublishOutcome) -> Void, answered: @escaping (PublishOutcome) -> Void) {
        let call: [[UInt8]] = scriptSHA.map { [Array("EVALSHA".utf8), $0] } ?? [Array("EVAL".utf8), RedisKeys.publishScript]
        commands.command(call + RedisKeys.publishKeys(channel: channel, body: body, options: options)) { [weak self] reply in
            switch reply {
            case let .integer(sequence)?:
                answered(.accepted(sequence: sequence))
            case let .error(message)? where message.hasPrefix("NOSCRIPT") && retryOnNoScript:
                // Redis restarted or its script cache was flushed: send the script itself once
                // (as a new publish: the WAIT already sent does not cover it).
                self?.scriptSHA = nil
                self?.loadScript()
                self?.evalPublish(channel: channel, body: body, options: options, retryOnNoScript: false, completion: completion)
            case let .error(message)?:
                answered(.unavailable(reason: "Redis refused the publish: \(message)"))
            default:
                answered(.unavailable(reason: "Redis did not confirm the publish; it may or may not have been stored."))
            }
        }
    }

    private func commandsReady() {
        loadScript()
        retryReads()
    }

    private func loadScript() {
        commands.command([Array("SCRIPT".utf8), Array("LOAD".utf8), RedisKeys.publishScript]) { [weak self] reply in
            if case let .string(sha)? = reply { self?.scriptSHA = sha }
        }
    }

    // MARK: subscribing

    func subscribe(channel name: String, lastSequence: Int, subscriber: ChannelSubscriber) -> SubscriptionHandle? {
        // A client level with a window we know is current just waits: no Redis work. A client
        // *ahead* of it goes to a read: only Redis's sequence can say whether the channel was
        // reset (it is then given the new generation) or this node's pub/sub merely lags.
        if pubsubReady, synced.contains(name), let channel = channels[name], lastSequence > 0, lastSequence == channel.sequence {
            return channel.subscribe(lastSequence: lastSequence, subscriber: subscriber)
        }
        let read = reads[name] ?? ChannelRead()
        reads[name] = read
        let pending = PendingSubscription(subscriber: subscriber, lastSequence: lastSequence, read: read)
        read.add(pending)
        if !read.inFlight { startRead(name) }
        return pending
    }

    func ping(_ completion: @escaping (Bool) -> Void) {
        guard commands.isConnected, pubsubReady else {
            completion(false)
            return
        }
        commands.command([Array("PING".utf8)]) { reply in completion(reply == .status("PONG")) }
    }

    /// A channel nobody here waits on: its window is kept a while if it is current (a re-poll
    /// level with it then needs no read), else dropped at once.
    func releaseIfDisposable(_ channel: LocalChannel) {
        guard !channel.hasSubscribers, reads[channel.name] == nil, channels[channel.name] === channel else { return }
        guard pubsubReady, synced.contains(channel.name) else { return forget(channel.name) }
        idle[channel.name] = EventLoop.now()
        if !idleSweep.isPending { idleSweep.schedule(after: Self.idleRetention) }
    }

    private func forget(_ name: String) {
        channels.removeValue(forKey: name)
        synced.remove(name)
        idle.removeValue(forKey: name)
    }

    /// Drops the windows idle for `idleRetention`; a channel in use again leaves the list (it
    /// comes back when its last subscriber leaves).
    private func sweepIdle() {
        let now = EventLoop.now()
        var next: Double?
        for (name, since) in idle {
            guard let channel = channels[name], !channel.hasSubscribers, reads[name] == nil else {
                idle.removeValue(forKey: name)
                continue
            }
            if now - since >= Self.idleRetention { forget(name) } else { next = min(next ?? since, since) }
        }
        if let next { idleSweep.schedule(after: next + Self.idleRetention - now) }
    }

    private func local(_ name: String) -> LocalChannel {
        if let channel = channels[name] { return channel }
        let channel = LocalChannel(name: name, owner: self)
        channels[name] = channel
        return channel
    }

    // MARK: reading

    /// One atomic read of a channel's sequence and list, for the subscribers waiting on it.
    private func startRead(_ name: String) {
        guard let read = reads[name] else { return }
        read.inFlight = true
        guard commands.isConnected else {
            read.inFlight = false
            if !retryTimer.isPending { retryTimer.schedule(after: 0.5) }
            return
        }
        let call: [[UInt8]] = [Array("EVAL".utf8), RedisKeys.readScript, Array("2".utf8), RedisKeys.sequence(name), RedisKeys.list(name)]
        commands.command(call + readArguments(name, read)) { [weak self] reply in
            guard let self else { return }
            guard case let .array(parts)? = reply, parts.count == 2 else {
                read.inFlight = false
                if case let .error(message)? = reply { self.logger.warn("read of \(name) refused by Redis: \(message); retrying") }
                else { self.logger.debug("read of \(name) failed; retrying") }
                if !self.retryTimer.isPending { self.retryTimer.schedule(after: 0.5) }
                return
            }
            // Saturated, never trapping: a sequence someone SET out of range counts as the top.
            let sequence = parts[0].saturatedInteger
            var bodies: [[UInt8]] = []
            if case let .array(items) = parts[1] {
                for item in items { if case let .string(body) = item { bodies.append(body) } }
            }
            self.readCompleted(name, sequence: sequence, newestFirst: bodies)
        }
    }

    /// The last sequences the read must serve: every waiting reader's, and this window's own when
    /// subscribers wait on it (they are level with it and must be given what it missed). Distinct
    /// values only; past 256 of them, the whole list (a rare crowd of different positions).
    /// The read remembers them: a subscriber joining while it is in flight is served by it only
    /// if its position was asked for, else by a follow-up read.
    private func readArguments(_ name: String, _ read: ChannelRead) -> [[UInt8]] {
        var lasts = Set<Int>()
        for pending in read.waiting where !pending.cancelled { lasts.insert(pending.lastSequence) }
        if let channel = channels[name], channel.hasSubscribers { lasts.insert(channel.sequence) }
        if read.wholeList || lasts.count > 256 {
            read.requested = nil
            return [Array("all".utf8)]
        }
        read.requested = lasts
        return lasts.isEmpty ? [Array("0".utf8)] : lasts.map { Array(String($0).utf8) }
    }

    private func retryReads() {
        for (name, read) in reads where !read.inFlight {
            // Everyone waiting gave up (timed out, disconnected) and nobody waits here: nothing to read.
            if read.waiting.isEmpty, channels[name]?.hasSubscribers != true {
                reads.removeValue(forKey: name)
                if let channel = channels[name] { releaseIfDisposable(channel) }
                continue
            }
            startRead(name)
        }
    }

    private func readCompleted(_ name: String, sequence: Int, newestFirst bodies: [[UInt8]]) {
        let channel = local(name)
        let read = reads.removeValue(forKey: name)
        let snapshot = ChannelSnapshot(sequence: sequence, newestFirst: bodies)
        // The store is the truth unless pub/sub has already brought something newer.
        if !synced.contains(name) || sequence >= channel.sequence {
            // The store may have forked from this window: its keys expired, Redis restarted empty
            // or was flushed (nothing in common: fork 0), or a failover to a replica lost the
            // newest messages (it agrees up to some sequence, then ends or differs). Waiting
            // subscribers go back to the fork and get what the store holds after it: never a
            // message twice (a reset to the oldest would resend all of them after a failover) and
            // never a wait for a sequence the channel reaches only later.
            if let fork = channel.forkPoint(with: snapshot) {
                channel.rewind(to: fork)
                if fork &+ 1 < snapshot.oldestHeld, let read, read.requested != nil {
                    // The rewound subscribers need messages this read did not bring: read the
                    // whole list before delivering anything (rare: only after a fork).
                    readAgain(name, for: read.waiting.filter { !$0.cancelled }, wholeList: true)
                    return
                }
            }
            channel.adopt(snapshot, bufferSize: max(windowSize, bodies.count))
            if pubsubReady { synced.insert(name) }
            channel.deliverBuffered()  // fills the gap for subscribers already waiting here
        }
        var followUp: [PendingSubscription] = []
        for pending in read?.waiting ?? [] where !pending.cancelled {
            guard let subscriber = pending.subscriber else { continue }
            if let requested = read?.requested, !requested.contains(pending.lastSequence) {
                followUp.append(pending)  // joined after the read was sent, at a position it did not ask for
                continue
            }
            // Catch up from what was read (the replay rule on the store's list), then wait here.
            if let handle = channel.subscribe(lastSequence: pending.lastSequence, subscriber: subscriber, from: snapshot) {
                pending.attach(handle)
            } else {
                pending.finish()
            }
        }
        channel.deliverBuffered()  // anything pub/sub brought past the read
        // Pub/sub announced a sequence this read did not see: it was answered before that publish.
        let stale = (read?.newestPublished ?? 0) > 0 && read?.newestPublished != sequence && channel.hasSubscribers
        if !followUp.isEmpty || stale {
            if stale { synced.remove(name) }
            readAgain(name, for: followUp)
        }
        releaseIfDisposable(channel)
    }

    /// A new read of `name` for `pendings`, started at once (the previous one has completed).
    private func readAgain(_ name: String, for pendings: [PendingSubscription], wholeList: Bool = false) {
        let next = ChannelRead()
        next.wholeList = wholeList
        for pending in pendings { next.add(pending) }
        reads[name] = next
        startRead(name)
    }

    // MARK: pub/sub

    private func update(_ reply: RedisReply?) {
        guard case let .array(parts)? = reply, parts.count == 3, case let .string(kind) = parts[0] else { return }
        switch String(decoding: kind, as: UTF8.self) {
        case "subscribe":
            pubsubReady = true
            logger.debug("subscribed to \(String(decoding: RedisKeys.updatesChannel, as: UTF8.self))")
            // Whatever was published while pub/sub was down: re-read every channel someone waits
            // on; idle windows are dropped (nobody needs them read).
            for (name, channel) in channels {
                if channel.hasSubscribers || reads[name] != nil { resync(name) } else { forget(name) }
            }
        case "message":
            guard case let .string(payload) = parts[2], let update = RedisKeys.parseUpdate(payload) else { return }
            published(update.channel, sequence: update.sequence, body: update.body)
        default:
            break
        }
    }

    private func published(_ name: String, sequence: Int, body: [UInt8]) {
        guard let channel = channels[name], synced.contains(name) else {
            // Nobody here, or a read will tell. But a read in flight may have been answered before
            // this publish (its reply can still arrive after this message, on the other
            // connection): remember the newest sequence heard, so the read is repeated if its
            // answer is older. Without this, the message was lost on this node until the next
            // publish showed a gap (compat test_sse_13_mux_with_origin on Redis, hung by it).
            if let read = reads[name] { read.newestPublished = max(read.newestPublished, sequence) }
            return
        }
        guard UTF8Validation.isValid(body) else {
            logger.warn("message \(sequence) on \(name) is not UTF-8 (published by another node?); not delivered")
            return
        }
        // No `channel.sequence + 1`: a sequence at Int.max (written into Redis by hand) must not trap.
        if sequence > channel.sequence, sequence - 1 == channel.sequence {
            let message = Message(channel: name, sequence: sequence, body: body)
            channel.append(message, bufferSize: windowSize)
            channel.deliver(message)
        } else if sequence > channel.sequence {
            resync(name)  // a gap: fill it from the store before delivering anything newer
        } else if channel.buffered(sequence)?.body != body {
            // Not one this window has: the store started again under it (the keys expired, a
            // flush) or forked (a failover). The read finds where (`LocalChannel.forkPoint`).
            resync(name)
        }
        // Else a late announcement of a message a read brought first (the read's reply and this
        // one travel on different connections): already delivered. This was once taken for an
        // expiry whenever it was sequence 1, and every subscriber got the message twice.
    }

    private func resync(_ name: String) {
        synced.remove(name)
        let read = reads[name] ?? ChannelRead()
        reads[name] = read
        if !read.inFlight { startRead(name) }
    }
}

/// Subscribers of one channel waiting for the same read. A subscriber that gives up (its
/// long-poll timed out, its socket closed) leaves `waiting` at once, in O(1): with Redis down,
/// pollers re-polling every `LONGPOLL_TIMEOUT` would otherwise pile up here until it returns.
private final class ChannelRead {
    var inFlight = false
    /// The newest sequence pub/sub announced while this read was on its way (0: none).
    var newestPublished = 0
    /// The last sequences the read in flight was asked to serve; `nil`: the whole list.
    var requested: Set<Int>? = []
    /// Read the whole list whoever waits (after a fork, `readCompleted`).
    var wholeList = false
    private(set) var waiting: [PendingSubscription] = []

    func add(_ pending: PendingSubscription) {
        pending.read = self
        pending.index = waiting.count
        waiting.append(pending)
    }

    /// Swap-remove: the order of waiters does not matter (each gets its own catch-up).
    func remove(_ pending: PendingSubscription) {
        let index = pending.index
        guard index >= 0, index < waiting.count, waiting[index] === pending else { return }
        let last = waiting.removeLast()
        if index < waiting.count {
            waiting[index] = last
            last.index = index
        }
        pending.index = -1
        if waiting.isEmpty { waiting = [] }  // give the storage back after a crowd left
    }
}

/// A subscription whose catch-up read is still on its way; then a handle on its place in the channel.
private final class PendingSubscription: SubscriptionHandle {
    private(set) var subscriber: ChannelSubscriber?
    let lastSequence: Int
    private(set) var cancelled = false
    private var attached: SubscriptionHandle?
    /// The read this subscription waits for, until it completes; its place in that read's list.
    fileprivate weak var read: ChannelRead?
    fileprivate var index = -1

    init(subscriber: ChannelSubscriber, lastSequence: Int, read: ChannelRead) {
        self.subscriber = subscriber
        self.lastSequence = lastSequence
        self.read = read
    }

    /// The subscription is made; if the subscriber cancelled during its catch-up, it is undone.
    func attach(_ handle: SubscriptionHandle) {
        subscriber = nil
        if cancelled { handle.cancel() } else { attached = handle }
    }

    func finish() { subscriber = nil }

    func cancel() {
        cancelled = true
        subscriber = nil
        read?.remove(self)
        read = nil
        attached?.cancel()
        attached = nil
    }
}
