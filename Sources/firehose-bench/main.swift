import ArgumentParser
import FirehoseBench
#if canImport(Glibc)
import Glibc
#endif

/// `firehose-bench`: the load generator. Drives any Firehose-protocol server (or Nchan, to compare)
/// from one libevent loop and reports what it measured.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firehose-bench",
        abstract: "Load generator for Firehose-protocol servers (and Nchan, for comparison).",
        discussion: """
        Every mode runs on one libevent loop (one core at most), is bounded in time, and prints a \
        summary (or, with --json, one JSON line) on stdout; progress goes to stderr once a second. \
        Payloads carry their send time and a per-channel counter, so each subscriber measures latency \
        and detects lost, duplicated and reordered messages itself. See BENCHMARKS.md.
        """,
        subcommands: [Fanout.self, Idle.self, Publish.self, Catchup.self, Churn.self]
    )
}

struct TargetOptions: ParsableArguments {
    @Option(help: "Base URL of the server under test (IPv4 or localhost).")
    var url = "http://127.0.0.1:7474"

    @Option(help: "Protocol to speak: firehose, or nchan (POST /pub/<id>, GET, WebSocket or event stream /sub/<id>).")
    var proto: WireProtocol = .firehose

    @Option(name: .customLong("pid"), help: "A process whose CPU time is measured (repeatable): the server, and redis-server.")
    var pids: [Int32] = []

    @Flag(help: "Print one JSON line on stdout instead of the summary.")
    var json = false

    func target() throws -> BenchTarget { try BenchTarget(url: url, proto: proto) }

    func emit(_ report: BenchReport) {
        print(json ? report.json : report.text)
    }
}

extension WireProtocol: ExpressibleByArgument {}
extension SubscriberTransport: ExpressibleByArgument {}

/// What `fanout` and `churn` share: the subscribers and the publishers.
struct DeliveryArguments: ParsableArguments {
    @Option(help: "longpoll, ws or sse (Server-Sent Events).") var transport: SubscriberTransport = .longpoll
    @Option(help: "Subscribers (spread evenly over the channels).") var subscribers = 1000
    @Option(help: "Publishing connections (a channel always uses the same one, keeping its order).") var publishers = 1
    @Option(help: "Message size in bytes (>= 40).") var size = 100

    func options(channels: Int, rate: Double, timeout: Double, pids: [Int32]) -> DeliveryOptions {
        var options = DeliveryOptions()
        options.transport = transport
        options.subscribers = subscribers
        options.publishers = publishers
        options.size = size
        options.channels = channels
        options.rate = rate
        options.timeout = timeout
        options.pids = pids
        return options
    }
}

/// What `publish` and `catchup` share: connections sending back to back for a while.
struct ThroughputArguments: ParsableArguments {
    @Option(help: "Connections, each with one request in flight.") var connections = 16
    @Option(help: "Seconds.") var duration = 10.0
    @Option(help: "Message size in bytes (>= 40).") var size = 100

    func run(_ kind: ThroughputOptions.Kind, channels: Int = 1, common: TargetOptions) throws {
        var options = ThroughputOptions()
        options.kind = kind
        options.connections = connections
        options.duration = duration
        options.size = size
        options.channels = channels
        options.pids = common.pids
        common.emit(try Bench.throughput(options, target: common.target()))
    }
}

struct Fanout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N subscribers over K channels, then M messages at R/s from P publishers; latency and delivery checks.")

    @OptionGroup var common: TargetOptions
    @OptionGroup var delivery: DeliveryArguments
    @Option(help: "Channels.") var channels = 1
    @Option(help: "Measured messages, over all channels.") var messages = 200
    @Option(help: "Messages per second over all channels; 0 = as fast as acknowledged. With a rate, latency counts from each message's scheduled time, so a slow acknowledgement cannot hide a backlog.") var rate = 20.0
    @Option(help: "Bound on the whole run, in seconds.") var timeout = 120.0
    @Option(help: "Seconds to wait for the last deliveries after the last publish is acknowledged.") var drain = 10.0

    func run() throws {
        var options = delivery.options(channels: channels, rate: rate, timeout: timeout, pids: common.pids)
        options.messages = messages
        options.drainTimeout = drain
        common.emit(try Bench.fanout(options, target: common.target()))
    }
}

struct Churn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fan-out while every subscriber is reset at random and resumes from its last position.")

    @OptionGroup var common: TargetOptions
    @OptionGroup var delivery: DeliveryArguments
    @Option(help: "Channels.") var channels = 10
    @Option(help: "Messages per second over all channels.") var rate = 50.0
    @Option(help: "Seconds of publishing.") var duration = 20.0
    @Option(name: .customLong("drop-every"), help: "Mean seconds between resets of each subscriber.") var dropEvery = 3.0
    @Option(help: "Bound on the whole run, in seconds.") var timeout = 180.0

    func run() throws {
        var options = delivery.options(channels: channels, rate: rate, timeout: timeout, pids: common.pids)
        options.messages = max(1, Int(rate * duration))
        options.dropEvery = dropEvery
        common.emit(try Bench.fanout(options, target: common.target(), mode: "churn"))
    }
}

struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold N idle subscribers and report the server's resident memory per connection.")

    @OptionGroup var common: TargetOptions
    @Option(help: "longpoll, ws or sse (Server-Sent Events).") var transport: SubscriberTransport = .longpoll
    @Option(help: "Idle connections.") var connections = 10_000
    @Option(help: "Channels they wait on.") var channels = 1
    @Option(help: "Seconds to wait after the last connection is established before reading memory.") var settle = 2.0
    @Option(help: "Bound on the whole run, in seconds.") var timeout = 120.0

    func run() throws {
        guard let pid = common.pids.first else { throw ValidationError("idle needs --pid <server pid> to read its memory") }
        var options = IdleOptions()
        options.transport = transport
        options.connections = connections
        options.channels = channels
        options.pid = pid
        options.settle = settle
        options.timeout = timeout
        common.emit(try Bench.idle(options, target: common.target()))
    }
}

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Publish throughput: P connections publishing back to back, no subscribers.")

    @OptionGroup var common: TargetOptions
    @OptionGroup var throughput: ThroughputArguments
    @Option(help: "Channels (connection i publishes to channel i mod K).") var channels = 1

    func run() throws { try throughput.run(.publish, channels: channels, common: common) }
}

struct Catchup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Catch-up GET throughput: GETs answered at once from the buffer (Firehose).")

    @OptionGroup var common: TargetOptions
    @OptionGroup var throughput: ThroughputArguments

    func run() throws { try throughput.run(.catchup, common: common) }
}

BenchCommand.main()
