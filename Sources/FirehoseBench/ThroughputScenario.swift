/// Settings of a request-throughput run (`publish` or `catchup`).
public struct ThroughputOptions: Sendable {
    public enum Kind: String, Sendable { case publish, catchup }
    public var kind = Kind.publish
    public var connections = 16
    public var duration = 10.0
    public var size = 100
    public var channels = 1
    public var pids: [Int32] = []
    public init() {}
}

/// P keep-alive connections each sending its next request the moment the last is answered, for a
/// fixed time: publishes with no subscribers, or catch-up GETs answered at once from the buffer.
final class ThroughputScenario: KeepAliveClientHost {
    private let options: ThroughputOptions
    private let target: BenchTarget
    private let loop: BenchLoop
    private var clients: [KeepAliveClient] = []
    private var requests: [[UInt8]] = []
    private var latency = LatencyHistogram()
    private var answered = 0
    private var errors = 0
    private var reconnects = 0
    private var lastProblem = ""
    private var preloading = true
    private var preloadSent = 0
    private var preloadAnswers = 0
    private var measuring = false
    private var measureStartedAt: UInt64 = 0
    private let startedAt = monotonicMicros()
    private var report = BenchReport()
    private let progress: ProgressLine
    private var cpu: CPUMeter
    private lazy var tickTimer = BenchTimer(loop: loop) { [unowned self] in self.tick() }

    init(options: ThroughputOptions, target: BenchTarget, loop: BenchLoop) {
        self.options = options
        self.target = target
        self.loop = loop
        progress = ProgressLine(label: options.kind.rawValue)
        cpu = CPUMeter(pids: options.pids)
    }

    func run() -> BenchReport {
        let body = BenchPayload.make(counter: 1, sentAt: 0, size: options.size)
        requests = (0..<options.connections).map { index in
            let channel = index % options.channels
            return options.kind == .publish
                ? target.publishRequest(channel: channel, body: body)
                : target.catchUpRequest(channel: channel, sequence: 1)
        }
        clients = (0..<options.connections).map { KeepAliveClient(index: $0, target: target, loop: loop, host: self) }
        // A catch-up channel needs two messages first, so that sequence 1 is behind.
        if options.kind == .catchup {
            clients[0].start()
        } else {
            startMeasuring()
        }
        tickTimer.schedule(after: 0.05)
        loop.run()
        return report
    }

    private func startMeasuring() {
        preloading = false
        measuring = true
        measureStartedAt = monotonicMicros()
        cpu.start()
        for client in clients {
            if client.isIdle { client.poke() } else { client.start() }
        }
    }

    func nextRequest(for client: KeepAliveClient) -> [UInt8]? {
        if preloading {
            guard preloadSent < 2 * options.channels else { return nil }
            preloadSent += 1
            let body = BenchPayload.make(counter: 2 - preloadSent % 2, sentAt: 0, size: options.size)
            return target.publishRequest(channel: (preloadSent - 1) / 2, body: body)
        }
        return measuring ? requests[client.index] : nil
    }

    func client(_ client: KeepAliveClient, answered response: HTTPResponse, request: [UInt8], latency: UInt64) {
        if preloading {
            preloadAnswers += 1
            if !(200..<300).contains(response.status) { errors += 1; lastProblem = "preload publish answered \(response.status)" }
            if preloadAnswers == 2 * options.channels { startMeasuring() }
            return
        }
        guard measuring else { return }
        answered += 1
        self.latency.record(latency)
        let good = options.kind == .publish ? (200..<300).contains(response.status) : response.status == 200
        if !good {
            errors += 1
            lastProblem = "\(options.kind.rawValue) answered \(response.status)"
        }
    }

    func clientReconnecting(_ client: KeepAliveClient, error: Int32) {
        reconnects += 1
        lastProblem = error > 0 ? "connection: \(String(cString: strerror(error)))" : "connection broke"
    }

    private func tick() {
        let now = monotonicMicros()
        if measuring, Double(now - measureStartedAt) / 1e6 >= options.duration { return finish() }
        if preloading, Double(now - startedAt) / 1e6 > 10 {
            lastProblem = "could not preload the catch-up channel"
            return finish()
        }
        progress.update(now) { "requests \(answered), errors \(errors)" }
        tickTimer.schedule(after: 0.02)
    }

    private func finish() {
        let seconds = measuring ? Double(monotonicMicros() - measureStartedAt) / 1e6 : 0
        measuring = false
        progress.finish()
        report.set("mode", options.kind.rawValue)
        report.set("proto", target.proto.rawValue)
        report.set("url", "http://\(target.host):\(target.port)")
        report.set("connections", options.connections)
        report.set("requests", answered)
        report.set("requests_per_s", seconds > 0 ? Double(answered) / seconds : 0)
        report.set("errors", errors)
        report.set("reconnects", reconnects)
        report.set("latency_ms", BenchReport.latency(latency))
        report.set("elapsed_s", seconds)
        report.setCPU(cpu)
        report.set("ok", answered > 0 && errors == 0)
        if !lastProblem.isEmpty { report.set("last_problem", lastProblem) }
        for client in clients { client.stop() }
        loop.stop()
    }
}

#if canImport(Glibc)
import Glibc
#endif
