/// The load generator's entry points: each runs one scenario on a fresh loop, to completion, on the
/// calling thread, and returns its report.
public enum Bench {
    public static func fanout(_ options: DeliveryOptions, target: BenchTarget, mode: String = "fanout") throws(BenchError) -> BenchReport {
        try validate(options)
        let loop = try prepare(connections: options.subscribers + options.publishers)
        return DeliveryScenario(mode: mode, options: options, target: target, loop: loop).run()
    }

    public static func idle(_ options: IdleOptions, target: BenchTarget) throws(BenchError) -> BenchReport {
        guard options.connections > 0, options.channels > 0 else { throw .usage("--connections and --channels must be positive") }
        guard ProcessStats.residentKiB(pid: options.pid) != nil else {
            throw .usage("idle needs --pid of the server (no /proc/\(options.pid)/status)")
        }
        let loop = try prepare(connections: options.connections)
        return IdleScenario(options: options, target: target, loop: loop).run()
    }

    public static func throughput(_ options: ThroughputOptions, target: BenchTarget) throws(BenchError) -> BenchReport {
        guard options.connections > 0, options.channels > 0, options.duration > 0 else {
            throw .usage("--connections, --channels and --duration must be positive")
        }
        if options.kind == .catchup, target.proto != .firehose { throw .usage("catchup is a Firehose measurement (--proto firehose)") }
        let loop = try prepare(connections: options.connections)
        return ThroughputScenario(options: options, target: target, loop: loop).run()
    }

    private static func validate(_ options: DeliveryOptions) throws(BenchError) {
        guard options.subscribers >= 0, options.channels > 0, options.publishers > 0, options.messages > 0 else {
            throw .usage("--channels, --publishers and --messages must be positive")
        }
        guard options.rate >= 0, options.size >= 40 else { throw .usage("--rate must be >= 0 and --size >= 40 (the payload's header)") }
    }

    private static func prepare(connections: Int) throws(BenchError) -> BenchLoop {
        let limit = BenchLoop.raiseFileLimit()
        guard connections + 64 <= limit else {
            throw .usage("\(connections) connections need more open files than the limit (\(limit)); raise `ulimit -n`")
        }
        return try BenchLoop()
    }
}
