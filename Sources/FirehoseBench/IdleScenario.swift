/// Settings of an idle-memory run.
public struct IdleOptions: Sendable {
    public var transport: SubscriberTransport = .longpoll
    public var connections = 10_000
    public var channels = 1
    /// The server whose resident memory is read before and after.
    public var pid: Int32 = 0
    /// Seconds to wait once every connection is established, before reading memory.
    public var settle = 2.0
    public var timeout = 120.0
    public var connectConcurrency = 256
    public init() {}
}

/// N subscribers waiting on channels that never get a message; the server's RSS is read before
/// they connect and after they have all settled, giving its memory per idle connection.
final class IdleScenario: SubscriberHost {
    private let options: IdleOptions
    private let target: BenchTarget
    private let loop: BenchLoop
    private let ledger: DeliveryLedger
    private var pool: SubscriberPool!
    private var report = BenchReport()
    private let progress = ProgressLine(label: "idle")
    private var errors = 0
    private var closes = 0
    private var lastProblem = ""
    private var rssBefore = 0
    private let startedAt = monotonicMicros()
    private var settledAt: UInt64 = 0
    private var finished = false
    private var cpu: CPUMeter
    private lazy var tickTimer = BenchTimer(loop: loop) { [unowned self] in self.tick() }

    init(options: IdleOptions, target: BenchTarget, loop: BenchLoop) {
        self.options = options
        self.target = target
        self.loop = loop
        ledger = DeliveryLedger(subscribers: options.connections, expectedPerSubscriber: 0)
        cpu = CPUMeter(pids: [options.pid])
    }

    func run() -> BenchReport {
        rssBefore = ProcessStats.residentKiB(pid: options.pid) ?? 0
        cpu.start()
        pool = SubscriberPool(count: options.connections, channels: options.channels, transport: options.transport, target: target,
                              loop: loop, ledger: ledger, host: self, concurrency: options.connectConcurrency)
        pool.connectFailed = { [unowned self] subscriber, error in
            errors += 1
            lastProblem = "connect: \(String(cString: strerror(error)))"
            pool.giveUp(subscriber)
        }
        pool.connectMore()
        tickTimer.schedule(after: 0.05)
        loop.run()
        return report
    }

    func subscriberEstablished(_ subscriber: Subscriber) {
        _ = pool.markEstablished(subscriber)
    }

    func subscriberClosed(_ subscriber: Subscriber, error: Int32, reason: String) {
        guard !finished else { return }
        closes += 1
        lastProblem = reason
        // One that never got established gives its connecting slot to the next.
        if !pool.hasEstablished(subscriber) {
            errors += 1
            pool.giveUp(subscriber)
            pool.connectMore()
        }
    }

    private func tick() {
        let now = monotonicMicros()
        if pool.allOpened, settledAt == 0 { settledAt = now }
        if settledAt > 0, Double(now - settledAt) / 1e6 >= options.settle {
            return finish()
        }
        if Double(now - startedAt) / 1e6 > options.timeout {
            lastProblem = "timed out with \(pool.established) of \(options.connections) established"
            return finish()
        }
        progress.update(now) { "established \(pool.established)/\(options.connections), errors \(errors)" }
        tickTimer.schedule(after: 0.05)
    }

    private func finish() {
        finished = true
        progress.finish()
        let rssAfter = ProcessStats.residentKiB(pid: options.pid) ?? 0
        let open = pool.subscribers.filter(\.isConnected).count
        report.set("mode", "idle")
        report.set("proto", target.proto.rawValue)
        report.set("transport", options.transport.rawValue)
        report.set("url", "http://\(target.host):\(target.port)")
        report.set("connections", options.connections)
        report.set("established", pool.established)
        report.set("open_at_measurement", open)
        report.set("rss_before_kb", rssBefore)
        report.set("rss_after_kb", rssAfter)
        report.set("bytes_per_connection", open > 0 ? Double(rssAfter - rssBefore) * 1024 / Double(open) : 0)
        report.set("errors", errors)
        report.set("closes", closes)
        report.set("elapsed_s", Double(monotonicMicros() - startedAt) / 1e6)
        report.setCPU(cpu)
        report.set("ok", open == options.connections && rssAfter > 0)
        if !lastProblem.isEmpty { report.set("last_problem", lastProblem) }
        for subscriber in pool.subscribers { subscriber.drop() }
        loop.stop()
    }
}

#if canImport(Glibc)
import Glibc
#endif
