internal import FirehoseCore

/// The admin `/metrics` document in the Prometheus text format 0.0.4, written from the counters
/// the server keeps anyway.
///
/// Why not swift-server/swift-prometheus (2.x): its counters are `ManagedAtomic`s, so every
/// delivery would pay an atomic read-modify-write (`lock xadd`) for thread safety this
/// loop-confined server does not need. Measured on this (shared, 2-core) machine, Swift 6 -O,
/// 100M iterations of an opaque `receive` call with the count beside it, 3 rounds: the call alone
/// 10.3-13.1 ns, with the plain add through `DeliveryStats`'s pointer 11.0-11.8 ns (within noise),
/// with a relaxed atomic add 12.5-17.3 ns: 1-6 ns more per delivery, 1-6 ms of CPU per million.
/// It would also add swift-atomics and swift-metrics to the build. The format is small to write,
/// and the test parses it with the reference parser (`prometheus_client`).
struct PrometheusExposition {
    static let contentType = [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]

    private var out: [UInt8] = []

    init() { out.reserveCapacity(4096) }

    var bytes: [UInt8] { out }

    mutating func counter(_ name: String, _ help: String, _ value: Int) {
        header(name, help, type: "counter")
        sample(name, [], Double(value))
    }

    mutating func counter(_ name: String, _ help: String, label: String, _ values: [(String, Int)]) {
        header(name, help, type: "counter")
        for (labelValue, value) in values { sample(name, [(label, labelValue)], Double(value)) }
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Int) {
        header(name, help, type: "gauge")
        sample(name, [], Double(value))
    }

    mutating func gauge(_ name: String, _ help: String, label: String, _ values: [(String, Int)]) {
        header(name, help, type: "gauge")
        for (labelValue, value) in values { sample(name, [(label, labelValue)], Double(value)) }
    }

    mutating func histogram(_ name: String, _ help: String, _ histogram: DurationHistogram) {
        header(name, help, type: "histogram")
        var cumulative = 0
        for (index, bound) in DurationHistogram.bounds.enumerated() {
            cumulative += histogram.counts[index]
            sample(name + "_bucket", [("le", Self.number(bound))], Double(cumulative))
        }
        sample(name + "_bucket", [("le", "+Inf")], Double(histogram.count))
        sample(name + "_sum", [], histogram.sum)
        sample(name + "_count", [], Double(histogram.count))
    }

    private mutating func header(_ name: String, _ help: String, type: String) {
        out += Array("# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8)
    }

    private mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        out += Array(name.utf8)
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            for (index, (key, labelValue)) in labels.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += Array(key.utf8)
                out += Array("=\"".utf8)
                out += Array(Self.escaped(labelValue).utf8)
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        out += Array(Self.number(value).utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// Integers without a fraction; others in Swift's shortest round-tripping form.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }

    /// Label values escape backslash, double quote and newline (the format's only escapes).
    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}

extension PrometheusExposition {
    /// Every metric of the server, read on the loop thread at scrape time.
    static func document(_ context: ServerContext) -> [UInt8] {
        var doc = PrometheusExposition()
        let stats = context.backend.deliveryStats
        let transports = SubscriberTransport.allCases.filter { $0 != .other }
        let operations = context.operations
        doc.counter("firehose_messages_published_total", "Messages stored by publishes on this node.",
                    context.metrics.total(.published))
        doc.counter("firehose_messages_delivered_total", "Messages handed to subscribers on this node, by transport.",
                    label: "transport", transports.map { ($0.label, stats.delivered($0)) })
        doc.counter("firehose_requests_rejected_total", "Requests refused, by reason.",
                    label: "reason", OperationsCounters.Rejection.allCases.map { ($0.label, operations.rejected[$0.rawValue]) })
        doc.counter("firehose_slow_consumers_disconnected_total", "WebSocket and stream clients cut off for not reading.",
                    operations.slowConsumersDisconnected)
        doc.counter("firehose_long_poll_timeouts_total", "Long-polls answered 204 at their timeout.",
                    context.metrics.total(.timeouts))
        let administration = context.backend as? ChannelAdministration
        let redis = administration?.redisStatus
        doc.counter("firehose_redis_reconnects_total", "Redis connections made again after a loss (0 for memory).",
                    redis?.reconnects ?? 0)
        doc.counter("firehose_publish_errors_total", "Publishes answered 503 because the backend could not store them.",
                    operations.publishErrors)
        doc.gauge("firehose_connections", "Open client connections, by transport (http includes long-poll and SSE).",
                  label: "transport", [("http", context.openConnections), ("websocket", context.openWebSockets)])
        doc.gauge("firehose_waiting_long_polls", "Long-polls held waiting for a message.", context.longPollQueue.count)
        doc.gauge("firehose_subscriptions", "Live channel subscriptions on this node, by transport.",
                  label: "transport", transports.map { ($0.label, stats.subscriptions($0)) })
        doc.gauge("firehose_channels", "Channels this node holds (Redis: with subscribers here, or had them in the last 5 s).", context.backend.channelCount)
        let buffered = administration?.bufferedTotals ?? (messages: 0, bytes: 0)
        doc.gauge("firehose_buffered_messages", "Messages held in this node's channel buffers.", buffered.messages)
        doc.gauge("firehose_buffered_bytes", "Body bytes held in this node's channel buffers.", buffered.bytes)
        doc.gauge("firehose_redis_connected", "1 while both Redis connections are up (always 1 for memory).",
                  redis.map { $0.connected ? 1 : 0 } ?? 1)
        doc.gauge("firehose_draining", "1 once the drain (SIGTERM) has begun.", context.draining ? 1 : 0)
        doc.histogram("firehose_publish_duration_seconds", "Seconds from a publish's arrival to the backend's answer.",
                      operations.publishDuration)
        return doc.bytes
    }
}
