/// The counters behind `/metrics@firehose`, in the reference's shape: a JSON array of time buckets
/// (`interval` seconds each, the last `keep` of them), each with global counters plus
/// `active_channels`, and per-channel counters.
///
/// Memory is bounded: old buckets are dropped, and a bucket tracks at most `channelLimit`
/// channels individually (further channels still count globally). The document lists at most
/// `reportedChannels` channels per bucket, the busiest (`active_channels` still counts them
/// all), and is built at most once per second and shared by every request in that second: with
/// 10,000 channel names of 4 KB, rebuilding it per request took RSS from 59 to 450 MB for ten
/// clients that did not read.
public final class MetricsRecorder {
    public enum Counter: String, CaseIterable, Sendable {
        case published
        case totalSize = "total_size"
        case subscribed
        case subscribedMultiplexedLongPolling = "subscribed_multiplexed_long_polling"
        case subscribedWebSocket = "subscribed_ws"
        case subscribedMultiplexedWebSocket = "subscribed_multiplexed_ws"
        case subscribedMultiplexedWebSocketDynamic = "subscribed_multiplexed_ws_dynamic"
        case duplicateMultiplexSubscription = "duplicate_multiplex_subscription"
        case timeouts
        case errors
        case connectionsOpened = "connections_opened"
        case connectionsClosed = "connections_closed"

        /// Position in `allCases` (a switch: no hashing on the hot path).
        var index: Int {
            switch self {
            case .published: 0
            case .totalSize: 1
            case .subscribed: 2
            case .subscribedMultiplexedLongPolling: 3
            case .subscribedWebSocket: 4
            case .subscribedMultiplexedWebSocket: 5
            case .subscribedMultiplexedWebSocketDynamic: 6
            case .duplicateMultiplexSubscription: 7
            case .timeouts: 8
            case .errors: 9
            case .connectionsOpened: 10
            case .connectionsClosed: 11
            }
        }
    }

    private final class Bucket {
        let time: Int
        var global: [(Counter, Int)] = []
        var channelOrder: [String] = []
        var channels: [String: [(Counter, Int)]] = [:]

        init(time: Int) { self.time = time }
    }

    public let interval: Int
    public let keep: Int
    public let channelLimit: Int
    private var buckets: [Bucket] = []
    /// Every counter's total since start, beside the reference's buckets: what a cumulative
    /// exposition (Prometheus) reads. Indexed by `Counter.allCases` order: no hashing per record.
    private var totals = [Int](repeating: 0, count: Counter.allCases.count)
    public let reportedChannels: Int
    /// The last document and the second it was built in.
    private var cached: (now: Int, document: SharedBytes)?
    /// Documents built so far (each request in the same second shares one).
    public private(set) var documentsBuilt = 0

    public init(interval: Int = 10, keep: Int = 3, channelLimit: Int = 10_000, reportedChannels: Int = .max) {
        self.interval = max(1, interval)
        self.keep = max(1, keep)
        self.channelLimit = channelLimit
        self.reportedChannels = max(0, reportedChannels)
    }

    /// The JSON document of `encoded(now:)`, built at most once per second (a new bucket always
    /// starts on a new second, so it is never a bucket behind) and shared, not copied, by every
    /// response that sends it.
    public func shared(now: Int) -> SharedBytes {
        if let cached, cached.now == now { return cached.document }
        let document = SharedBytes(encoded(now: now))
        cached = (now, document)
        return document
    }

    /// Adds `amount` to `counter`, globally and (when given) for `channel`. `totalSize` is kept
    /// per channel only, as in the reference.
    public func record(_ counter: Counter, channel: String? = nil, amount: Int = 1, now: Int) {
        totals[counter.index] &+= amount
        let bucket = current(now)
        if counter != .totalSize { Self.add(amount, to: counter, in: &bucket.global) }
        guard let channel else { return }
        updateChannel(channel, in: bucket, initial: [(counter, amount)]) { Self.add(amount, to: counter, in: &$0) }
    }

    /// A publish of `size` bytes to `channel`: `published` and `totalSize` with one lookup of the
    /// channel (each lookup hashes its name: about 850 instructions of every publish, callgrind).
    public func recordPublish(channel: String, size: Int, now: Int) {
        totals[Counter.published.index] &+= 1
        totals[Counter.totalSize.index] &+= size
        let bucket = current(now)
        Self.add(1, to: .published, in: &bucket.global)
        updateChannel(channel, in: bucket, initial: [(.published, 1), (.totalSize, size)]) { counters in
            Self.add(1, to: .published, in: &counters)
            Self.add(size, to: .totalSize, in: &counters)
        }
    }

    /// Updates `channel`'s counters in `bucket` with one hash of its name (this runs on every
    /// publish and long-poll); a channel not listed yet starts with `initial`, unless the bucket
    /// already lists `channelLimit` channels.
    private func updateChannel(_ channel: String, in bucket: Bucket, initial: @autoclosure () -> [(Counter, Int)],
                               _ update: (inout [(Counter, Int)]) -> Void) {
        if let index = bucket.channels.index(forKey: channel) {
            update(&bucket.channels.values[index])
        } else {
            guard bucket.channelOrder.count < channelLimit else { return }
            bucket.channelOrder.append(channel)
            bucket.channels[channel] = initial()
        }
    }

    /// The total of `counter` since the recorder was made.
    public func total(_ counter: Counter) -> Int {
        totals[counter.index]
    }

    /// The JSON document, oldest bucket first.
    public func encoded(now: Int) -> [UInt8] {
        _ = current(now)
        documentsBuilt += 1
        var writer = JSONWriter(capacity: 256)
        writer.raw("[")
        for (i, bucket) in buckets.enumerated() {
            if i > 0 { writer.raw(",") }
            writer.raw("{\"time\":")
            writer.integer(bucket.time)
            writer.raw(",\"global\":{")
            for (counter, value) in bucket.global {
                writer.string(counter.rawValue)
                writer.raw(":")
                writer.integer(value)
                writer.raw(",")
            }
            writer.raw("\"active_channels\":")
            writer.integer(bucket.channelOrder.count)
            writer.raw("},\"channels\":{")
            for (j, name) in reported(bucket).enumerated() {
                if j > 0 { writer.raw(",") }
                writer.string(name)
                writer.raw(":{")
                for (k, (counter, value)) in bucket.channels[name, default: []].enumerated() {
                    if k > 0 { writer.raw(",") }
                    writer.string(counter.rawValue)
                    writer.raw(":")
                    writer.integer(value)
                }
                writer.raw("}")
            }
            writer.raw("}}")
        }
        writer.raw("]")
        return writer.bytes
    }

    /// The bucket's channels to list: all of them, or the `reportedChannels` busiest (most counted
    /// events, ties to the first seen), in the order they were first seen.
    private func reported(_ bucket: Bucket) -> [String] {
        guard bucket.channelOrder.count > reportedChannels else { return bucket.channelOrder }
        let activity = bucket.channelOrder.map { name in
            bucket.channels[name, default: []].reduce(0) { $0 &+ ($1.0 == .totalSize ? 0 : $1.1) }
        }
        let busiest = activity.indices.sorted { activity[$0] != activity[$1] ? activity[$0] > activity[$1] : $0 < $1 }
        return busiest.prefix(reportedChannels).sorted().map { bucket.channelOrder[$0] }
    }

    private func current(_ now: Int) -> Bucket {
        let time = now - ((now % interval) + interval) % interval
        if let last = buckets.last, last.time == time { return last }
        let bucket = Bucket(time: time)
        buckets.append(bucket)
        if buckets.count > keep { buckets.removeFirst(buckets.count - keep) }
        return bucket
    }

    private static func add(_ amount: Int, to counter: Counter, in list: inout [(Counter, Int)]) {
        if let index = list.firstIndex(where: { $0.0 == counter }) {
            list[index].1 += amount
        } else {
            list.append((counter, amount))
        }
    }
}
