#if canImport(Glibc)
import Glibc
#endif

/// Settings of a fan-out or churn run.
public struct DeliveryOptions: Sendable {
    public var transport: SubscriberTransport = .longpoll
    public var subscribers = 1000
    public var channels = 1
    /// Measured messages, over all channels.
    public var messages = 200
    /// Messages per second over all channels; 0 publishes as fast as they are acknowledged.
    public var rate = 20.0
    public var publishers = 1
    public var size = 100
    /// Churn: each subscriber is reset on average this often (seconds) and resumes; 0: never.
    public var dropEvery = 0.0
    /// Bound on the whole run, connecting included.
    public var timeout = 120.0
    /// How long to wait for the last deliveries once every publish is acknowledged.
    public var drainTimeout = 10.0
    public var pids: [Int32] = []
    /// Connections being opened at once (the rest wait their turn).
    public var connectConcurrency = 256
    public init() {}
}

/// Subscribers on K channels, primed, then M numbered messages from P publishers; every delivery
/// checked against what was published. With `dropEvery`, subscribers are also reset at random and
/// resume from their last position (churn).
final class DeliveryScenario: SubscriberHost, KeepAliveClientHost {
    private enum Phase: String { case connecting, priming, publishing, draining, finished }

    private let mode: String
    private let options: DeliveryOptions
    private let target: BenchTarget
    private let loop: BenchLoop
    private let ledger: DeliveryLedger
    private var pool: SubscriberPool!
    private var subscribers: [Subscriber] { pool.subscribers }
    private var publishers: [KeepAliveClient] = []
    private var phase = Phase.connecting
    private var report = BenchReport()
    private let progress: ProgressLine

    // Connecting.
    private var connectErrors = 0
    private var reconnectQueue: [Int] = []
    private var lastCloseReason = ""

    // Publishing: per publisher a FIFO of (channel, counter); counter 0 primes.
    /// `due`: when the message was scheduled (0: send time). Latency counts from it, so a server
    /// that is slow to acknowledge cannot slow the publisher down and hide its own backlog
    /// (coordinated omission).
    private var queues: [[(channel: Int, counter: Int, due: UInt64)]]
    private var queueHeads: [Int]
    private var inFlight: [(channel: Int, counter: Int, due: UInt64)?]
    private var assigned: [Int]          // counters handed out per channel
    private var failedPerChannel: [Int]  // publishes the server refused, per channel
    private var scheduled = 0
    private var acknowledged = 0
    /// Each measured publish's round trip (request sent to answer read): how long a publisher
    /// waits behind the server's other work, e.g. a fan-out.
    private var publishRTT = LatencyHistogram()
    private var publishErrors = 0
    private var lastPublishError = ""
    private var publishReconnects = 0
    private var primingRounds = 0

    // Churn.
    private var nextDrop: [UInt64] = []
    private var disconnects = 0
    private var unexpectedCloses = 0
    private var random = SplitMix64(seed: monotonicMicros())

    // Clocks.
    private let startedAt = monotonicMicros()
    private var phaseStartedAt = monotonicMicros()
    private var publishStartedAt: UInt64 = 0
    private var lastAckAt: UInt64 = 0
    private var drainStartedAt: UInt64 = 0
    private var cpu: CPUMeter
    private lazy var tickTimer = BenchTimer(loop: loop) { [unowned self] in self.tick() }
    private lazy var paceTimer = BenchTimer(loop: loop) { [unowned self] in self.pace() }

    init(mode: String, options: DeliveryOptions, target: BenchTarget, loop: BenchLoop) {
        self.mode = mode
        self.options = options
        self.target = target
        self.loop = loop
        let perSubscriber = options.messages / max(1, options.channels) + 1
        ledger = DeliveryLedger(subscribers: options.subscribers, expectedPerSubscriber: perSubscriber)
        queues = Array(repeating: [], count: options.publishers)
        queueHeads = Array(repeating: 0, count: options.publishers)
        inFlight = Array(repeating: nil, count: options.publishers)
        assigned = Array(repeating: 0, count: options.channels)
        failedPerChannel = Array(repeating: 0, count: options.channels)
        cpu = CPUMeter(pids: options.pids)
        progress = ProgressLine(label: mode)
    }

    /// Runs to completion on `loop` and returns the report.
    func run() -> BenchReport {
        pool = SubscriberPool(count: options.subscribers, channels: options.channels, transport: options.transport, target: target,
                              loop: loop, ledger: ledger, host: self, concurrency: options.connectConcurrency)
        // A subscriber that could not even start connecting keeps its slot and is retried.
        pool.connectFailed = { [unowned self] subscriber, error in
            connectErrors += 1
            lastCloseReason = "connect: \(String(cString: strerror(error)))"
            reconnectQueue.append(subscriber.index)
        }
        for index in 0..<options.publishers {
            let publisher = KeepAliveClient(index: index, target: target, loop: loop, host: self)
            publishers.append(publisher)
            publisher.start()
        }
        pool.connectMore()
        tickTimer.schedule(after: 0.05)
        if options.subscribers == 0 { startPriming() }
        loop.run()
        return report
    }

    // MARK: Connecting

    func subscriberEstablished(_ subscriber: Subscriber) {
        guard pool.markEstablished(subscriber) else { return }
        if phase == .connecting, pool.established == subscribers.count { startPriming() }
    }

    func subscriberClosed(_ subscriber: Subscriber, error: Int32, reason: String) {
        guard phase != .finished else { return }
        lastCloseReason = reason
        if pool.hasEstablished(subscriber) {
            unexpectedCloses += 1
        } else {
            connectErrors += 1
        }
        reconnectQueue.append(subscriber.index)
    }

    // MARK: Priming and publishing

    private func startPriming() {
        phase = .priming
        phaseStartedAt = monotonicMicros()
        prime()
    }

    /// Where in the run the slow messages were: the message numbers (per channel, so in publish
    /// order) cut in ten, and in each tenth how many had a slowest delivery over `threshold` µs (4x
    /// the median message's). "9 0 0 ..." is a slow start; counts spread over all tenths are
    /// stalls that can land anywhere, such as a core lost to the host.
    static func slowByTenth(_ slowestByCounter: [UInt64], over threshold: UInt64) -> String {
        let counters = slowestByCounter.count - 1
        guard counters > 0, threshold > 0 else { return "" }
        var tenths = [Int](repeating: 0, count: 10)
        for counter in 1...counters where slowestByCounter[counter] > threshold {
            tenths[min(9, (counter - 1) * 10 / counters)] += 1
        }
        return tenths.map(String.init).joined(separator: " ")
    }

    /// One priming message to every channel that still has a subscriber without one.
    private func prime() {
        var needed = Array(repeating: false, count: options.channels)
        for subscriber in subscribers where !ledger.primed[subscriber.index] { needed[subscriber.channel] = true }
        primingRounds += 1
        for channel in 0..<options.channels where needed[channel] { enqueue(channel: channel, counter: 0, due: 0) }
    }

    private func startPublishing() {
        phase = .publishing
        phaseStartedAt = monotonicMicros()
        publishStartedAt = phaseStartedAt
        cpu.start()
        if !subscribers.isEmpty, options.dropEvery > 0 {
            nextDrop = subscribers.map { _ in publishStartedAt + randomDropDelay() }
        }
        if options.rate > 0 {
            pace()
        } else {
            while scheduled < options.messages { scheduleNext() }
        }
    }

    private func scheduleNext() {
        let channel = scheduled % options.channels
        let due = options.rate > 0 ? publishStartedAt + UInt64(Double(scheduled) / options.rate * 1e6) : 0
        scheduled += 1
        assigned[channel] += 1
        enqueue(channel: channel, counter: assigned[channel], due: due)
    }

    /// Publishes every message due by now at `rate`, then sleeps until the next one is due.
    private func pace() {
        guard phase == .publishing else { return }
        let elapsed = Double(monotonicMicros() - publishStartedAt) / 1e6
        let due = min(options.messages, Int(elapsed * options.rate) + 1)
        while scheduled < due { scheduleNext() }
        if scheduled < options.messages {
            paceTimer.schedule(after: Double(scheduled) / options.rate - elapsed)
        }
    }

    private func enqueue(channel: Int, counter: Int, due: UInt64) {
        let publisher = channel % publishers.count
        queues[publisher].append((channel, counter, due))
        publishers[publisher].poke()
    }

    func nextRequest(for client: KeepAliveClient) -> [UInt8]? {
        let p = client.index
        guard queueHeads[p] < queues[p].count else { return nil }
        let item = queues[p][queueHeads[p]]
        queueHeads[p] += 1
        if queueHeads[p] == queues[p].count {
            queues[p].removeAll(keepingCapacity: true)
            queueHeads[p] = 0
        }
        inFlight[p] = item
        let now = monotonicMicros()
        let body = BenchPayload.make(counter: item.counter, sentAt: item.due > 0 ? min(item.due, now) : now, size: options.size)
        return target.publishRequest(channel: item.channel, body: body)
    }

    func client(_ client: KeepAliveClient, answered response: HTTPResponse, request: [UInt8], latency: UInt64) {
        guard let item = inFlight[client.index] else { return }
        inFlight[client.index] = nil
        guard item.counter > 0 else { return }
        acknowledged += 1
        publishRTT.record(latency)
        lastAckAt = monotonicMicros()
        if !(200..<300).contains(response.status) {
            publishErrors += 1
            failedPerChannel[item.channel] += 1
            lastPublishError = "publish answered \(response.status)"
        }
        if acknowledged == options.messages, phase == .publishing { startDraining() }
    }

    func clientReconnecting(_ client: KeepAliveClient, error: Int32) {
        publishReconnects += 1
        lastPublishError = error > 0 ? "publisher connection: \(String(cString: strerror(error)))" : "publisher connection broke"
    }

    // MARK: Draining and the periodic tick

    private func startDraining() {
        phase = .draining
        drainStartedAt = monotonicMicros()
        checkDone()
    }

    private var expected: Int {
        subscribers.reduce(0) { $0 + assigned[$1.channel] - failedPerChannel[$1.channel] }
    }

    private func checkDone() {
        guard phase == .draining else { return }
        let waited = Double(monotonicMicros() - drainStartedAt) / 1e6
        if ledger.unique >= expected || waited >= options.drainTimeout { finish() }
    }

    private func tick() {
        let now = monotonicMicros()
        if !reconnectQueue.isEmpty, phase != .finished {
            let indices = reconnectQueue
            reconnectQueue.removeAll()
            // A subscriber that never got established keeps its connecting slot while it retries.
            for index in indices where !subscribers[index].isConnected {
                if subscribers[index].start() != 0 { reconnectQueue.append(index) }
            }
        }
        switch phase {
        case .priming:
            if ledger.primedCount == subscribers.count {
                startPublishing()
            } else if now - phaseStartedAt > 30_000_000 {
                startPublishing()  // go on; the unprimed are reported
            } else if primingRounds < 1 + Int((now - phaseStartedAt) / 250_000) {
                prime()
            }
        case .publishing where options.dropEvery > 0:
            churn(now)
        case .draining:
            checkDone()
        default:
            break
        }
        if Double(now - startedAt) / 1e6 > options.timeout, phase != .finished {
            lastCloseReason = "run timed out in phase \(phase.rawValue)"
            finish()
        }
        progress.update(now) { self.progressText() }
        if phase != .finished { tickTimer.schedule(after: 0.05) }
    }

    private func churn(_ now: UInt64) {
        for index in nextDrop.indices where nextDrop[index] <= now {
            nextDrop[index] = now + randomDropDelay()
            let subscriber = subscribers[index]
            guard subscriber.isConnected else { continue }
            subscriber.drop()
            disconnects += 1
            subscriber.start()
        }
    }

    /// Uniform over 0...2×dropEvery: each subscriber is reset every `dropEvery` s on average.
    private func randomDropDelay() -> UInt64 {
        UInt64(random.nextUnit() * 2 * options.dropEvery * 1e6)
    }

    private func progressText() -> String {
        let delivered = ledger.unique
        var text = "\(phase.rawValue): subscribers \(pool.established)/\(subscribers.count)"
        if phase == .priming || phase == .connecting { text += ", primed \(ledger.primedCount)" }
        text += ", published \(acknowledged)/\(options.messages), delivered \(delivered)"
        if disconnects > 0 { text += ", resets \(disconnects)" }
        return text
    }

    // MARK: Finishing

    private func finish() {
        phase = .finished
        paceTimer.cancel()
        tickTimer.cancel()
        progress.finish()
        let end = ledger.lastDeliveryAt > publishStartedAt ? ledger.lastDeliveryAt : monotonicMicros()
        report.set("mode", mode)
        report.set("proto", target.proto.rawValue)
        report.set("transport", options.transport.rawValue)
        report.set("url", "http://\(target.host):\(target.port)")
        report.set("subscribers", options.subscribers)
        report.set("channels", options.channels)
        report.set("messages", options.messages)
        let expected = self.expected
        var lost = 0
        for subscriber in subscribers {
            lost += max(0, ledger.lost(subscriber: subscriber.index, published: assigned[subscriber.channel]) - failedPerChannel[subscriber.channel])
        }
        report.set("expected", expected)
        report.set("received", ledger.unique)
        report.set("lost", lost)
        report.set("duplicated", ledger.duplicates)
        report.set("reordered", ledger.reordered)
        report.set("latency_ms", BenchReport.latency(ledger.latency))
        report.set("latency_from", options.rate > 0 ? "schedule" : "send")
        // Each message number's slowest delivery, as a distribution over the message numbers: its
        // max far above its p50 means one slow fan-out, not a uniformly slower run, set the p99.
        var slowest = LatencyHistogram()
        for micros in ledger.slowestByCounter.dropFirst() where micros > 0 { slowest.record(micros) }
        report.set("slowest_delivery_per_message_ms", BenchReport.latency(slowest))
        report.set("slow_messages_by_tenth", Self.slowByTenth(ledger.slowestByCounter, over: 4 * slowest.percentile(0.5)))
        let deliverySeconds = Double(end &- publishStartedAt) / 1e6
        report.set("deliveries_per_s", publishStartedAt > 0 && deliverySeconds > 0 ? Double(ledger.unique) / deliverySeconds : 0)
        let publishSeconds = Double(lastAckAt &- publishStartedAt) / 1e6
        report.set("publish_rtt_ms", BenchReport.latency(publishRTT))
        report.set("publish_rate", publishStartedAt > 0 && publishSeconds > 0 ? Double(acknowledged) / publishSeconds : 0)
        report.set("publish_errors", publishErrors)
        report.set("publish_reconnects", publishReconnects)
        report.set("connect_errors", connectErrors)
        report.set("unexpected_closes", unexpectedCloses)
        report.set("unprimed", subscribers.count - ledger.primedCount)
        if ledger.unreadable > 0 { report.set("unreadable", ledger.unreadable) }
        if options.dropEvery > 0 {
            report.set("disconnects", disconnects)
            report.set("delivered_ratio", expected > 0 ? Double(ledger.unique) / Double(expected) : 0)
        }
        report.set("elapsed_s", Double(monotonicMicros() - startedAt) / 1e6)
        report.setCPU(cpu)
        let everythingPublished = acknowledged == options.messages && publishErrors == 0
        let everythingDelivered = lost == 0 && ledger.duplicates == 0 && ledger.reordered == 0 && (expected > 0 || subscribers.isEmpty)
        let ok = everythingPublished && everythingDelivered
        report.set("ok", ok)
        if !ok, !lastCloseReason.isEmpty { report.set("last_problem", lastCloseReason) }
        if !lastPublishError.isEmpty { report.set("last_publish_problem", lastPublishError) }
        for subscriber in subscribers { subscriber.drop() }
        for publisher in publishers { publisher.stop() }
        loop.stop()
    }
}

/// A small, fast, seedable generator (SplitMix64) for churn timing; not for anything secret.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
