internal import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// Level-filtered, one-line-per-event logging to stderr. Immutable, so any thread may use it.
public struct Logger: Sendable {
    public enum Level: Int, Comparable, Sendable, CaseIterable {
        case debug = 0, info, warn, error, none

        public init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "error": self = .error
            case "fatal", "unknown": self = .error  // Ruby Logger's names (LOG_LEVEL as Firehose read it)
            case "none", "off", "silent": self = .none
            default: return nil
            }
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var label: String {
            switch self {
            case .debug: "DEBUG"
            case .info: "INFO"
            case .warn: "WARN"
            case .error: "ERROR"
            case .none: "NONE"
            }
        }
    }

    /// `text`: `<time> <LEVEL> <message>`; `json`: one object per line with `time`, `level`,
    /// `message` and any fields (`--log-format`).
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public let level: Level
    public let format: Format

    public init(level: Level) { self.init(level: level, format: .text) }

    public init(level: Level, format: Format) {
        self.level = level
        self.format = format
    }

    @inline(__always) public func isEnabled(_ level: Level) -> Bool { level >= self.level && level != .none }

    public func debug(_ message: @autoclosure () -> String) { log(.debug, message) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message) }
    public func warn(_ message: @autoclosure () -> String) { log(.warn, message) }
    public func error(_ message: @autoclosure () -> String) { log(.error, message) }

    private func log(_ level: Level, _ message: () -> String) {
        guard isEnabled(level) else { return }
        write(level, message(), fields: [])
    }

    /// One line with structured fields (the access log): in JSON they are the object's members
    /// (numbers given as `.number` stay numbers); in text they follow the message as `key=value`.
    func write(_ level: Level, _ message: String, fields: [(String, LogValue)]) {
        var line: String
        if format == .json {
            var writer = JSONWriter(capacity: 128 + message.utf8.count)
            writer.raw("{\"time\":")
            writer.string(Logger.timestamp())
            writer.raw(",\"level\":")
            writer.string(level.label.lowercased())
            writer.raw(",\"message\":")
            writer.string(message)
            for (key, value) in fields {
                writer.raw(",")
                writer.string(key)
                writer.raw(":")
                switch value {
                case let .string(text): writer.string(text)
                case let .number(number): writer.raw(Array(LogValue.format(number).utf8))
                }
            }
            writer.raw("}\n")
            line = String(decoding: writer.bytes, as: UTF8.self)
        } else {
            line = "\(Logger.timestamp()) \(level.label) \(message)"
            for (key, value) in fields {
                switch value {
                case let .string(text): line += " \(key)=\(text.contains(" ") || text.isEmpty ? "\"\(text)\"" : text)"
                case let .number(number): line += " \(key)=\(LogValue.format(number))"
                }
            }
            line += "\n"
        }
        // One write(2) per line, so lines from different threads never interleave; never blocking
        // (a stalled stderr pipe drops lines, counted, rather than stall the loop).
        line.withUTF8 { StderrWriter.write($0) }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }

    private static func pad(_ value: Int32, _ width: Int = 2) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// A structured log field's value.
enum LogValue {
    case string(String)
    case number(Double)

    static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int(number)) }
        return String(Double(Int((number * 1e6).rounded())) / 1e6)
    }
}
