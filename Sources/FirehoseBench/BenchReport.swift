/// A run's results as ordered key/value pairs: one JSON line for scripts (`--json`), or aligned
/// text for people. Hand-written JSON: the values are numbers, booleans and plain strings.
public struct BenchReport {
    public indirect enum Value {
        case int(Int)
        case double(Double)
        case bool(Bool)
        case string(String)
        case object([(String, Value)])
    }

    public private(set) var fields: [(String, Value)] = []

    public init() {}

    public mutating func set(_ key: String, _ value: Value) {
        if let index = fields.firstIndex(where: { $0.0 == key }) {
            fields[index].1 = value
        } else {
            fields.append((key, value))
        }
    }

    public mutating func set(_ key: String, _ value: Int) { set(key, .int(value)) }
    public mutating func set(_ key: String, _ value: Double) { set(key, .double(value)) }
    public mutating func set(_ key: String, _ value: Bool) { set(key, .bool(value)) }
    public mutating func set(_ key: String, _ value: String) { set(key, .string(value)) }

    public subscript(key: String) -> Value? { fields.first { $0.0 == key }?.1 }

    public var json: String { Self.json(.object(fields)) }

    public var text: String {
        var lines: [String] = []
        let width = fields.map(\.0.count).max() ?? 0
        for (key, value) in fields {
            let rendered: String
            if case let .object(members) = value {
                rendered = members.map { "\($0.0) \(Self.plain($0.1))" }.joined(separator: ", ")
            } else {
                rendered = Self.plain(value)
            }
            lines.append(key + String(repeating: " ", count: width - key.count + 2) + rendered)
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ value: Value) -> String {
        switch value {
        case let .int(number): String(number)
        case let .double(number): number.isFinite ? rounded(number) : "null"
        case let .bool(flag): flag ? "true" : "false"
        case let .string(text): quoted(text)
        case let .object(members): "{" + members.map { quoted($0.0) + ":" + json($0.1) }.joined(separator: ",") + "}"
        }
    }

    private static func plain(_ value: Value) -> String {
        switch value {
        case let .string(text): text
        case .object: json(value)
        default: json(value)
        }
    }

    /// Three decimals at most: enough for milliseconds and seconds, short in a table.
    static func rounded(_ number: Double) -> String {
        let scaled = (number * 1000).rounded() / 1000
        if scaled == scaled.rounded(), abs(scaled) < 1e15 { return String(Int(scaled)) }
        return String(scaled)
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension BenchReport {
    /// Latency percentiles in milliseconds.
    static func latency(_ histogram: LatencyHistogram) -> Value {
        .object([
            ("p50", .double(Double(histogram.percentile(0.50)) / 1000)),
            ("p75", .double(Double(histogram.percentile(0.75)) / 1000)),
            ("p90", .double(Double(histogram.percentile(0.90)) / 1000)),
            ("p95", .double(Double(histogram.percentile(0.95)) / 1000)),
            ("p99", .double(Double(histogram.percentile(0.99)) / 1000)),
            ("p999", .double(Double(histogram.percentile(0.999)) / 1000)),
            ("max", .double(Double(histogram.max) / 1000)),
        ])
    }

    mutating func setCPU(_ meter: CPUMeter) {
        let (server, client) = meter.read()
        set("client_cpu_s", client)
        set("server_cpu_s", .object(server.map { (String($0.0), .double($0.1)) }))
    }
}

#if canImport(Glibc)
import Glibc
#endif
