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
    private var subscribers: [Subscriber] = []
    private var report = BenchReport()
    private let progress = ProgressLine(label: "idle")
    private var nextToConnect = 0
    private var opening = 0
    private var established = 0
    private var isEstablished: [Bool]
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
        isEstablished = Array(repeating: false, count: options.connections)
        cpu = CPUMeter(pids: [options.pid])
    }

    func run() -> BenchReport {
        rssBefore = ProcessStats.residentKiB(pid: options.pid) ?? 0
        cpu.start()
        for index in 0..<options.connections {
            let channel = index % options.channels
            subscribers.append(options.transport == .longpoll
                ? LongPollSubscriber(index: index, channel: channel, target: target, loop: loop, ledger: ledger, host: self)
                : WebSocketSubscriber(index: index, channel: channel, target: target, loop: loop, ledger: ledger, host: self))
        }
        connectMore()
        tickTimer.schedule(after: 0.05)
        loop.run()
        return report
    }

    private func connectMore() {
        while opening < options.connectConcurrency, nextToConnect < subscribers.count {
            let subscriber = subscribers[nextToConnect]
            nextToConnect += 1
            opening += 1
            let error = subscriber.start()
            if error != 0 {
                opening -= 1
                errors += 1
                lastProblem = "connect: \(String(cString: strerror(error)))"
            }
        }
    }

    func subscriberEstablished(_ subscriber: Subscriber) {
        isEstablished[subscriber.index] = true
        established += 1
        opening -= 1
        connectMore()
    }

    func subscriberClosed(_ subscriber: Subscriber, error: Int32, reason: String) {
        guard !finished else { return }
        closes += 1
        lastProblem = reason
        // One that never got established gives its connecting slot to the next.
        if !isEstablished[subscriber.index] {
            opening -= 1
            errors += 1
            connectMore()
        }
    }

    private var allOpened: Bool { nextToConnect == subscribers.count && opening == 0 }

    private func tick() {
        let now = monotonicMicros()
        if allOpened, settledAt == 0 { settledAt = now }
        if settledAt > 0, Double(now - settledAt) / 1e6 >= options.settle {
            return finish()
        }
        if Double(now - startedAt) / 1e6 > options.timeout {
            lastProblem = "timed out with \(established) of \(options.connections) established"
            return finish()
        }
        progress.update(now) { "established \(established)/\(options.connections), errors \(errors)" }
        tickTimer.schedule(after: 0.05)
    }

    private func finish() {
        finished = true
        progress.finish()
        let rssAfter = ProcessStats.residentKiB(pid: options.pid) ?? 0
        let open = subscribers.filter(\.isConnected).count
        report.set("mode", "idle")
        report.set("proto", target.proto.rawValue)
        report.set("transport", options.transport.rawValue)
        report.set("url", "http://\(target.host):\(target.port)")
        report.set("connections", options.connections)
        report.set("established", established)
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
        for subscriber in subscribers { subscriber.drop() }
        loop.stop()
    }
}

#if canImport(Glibc)
import Glibc
#endif
