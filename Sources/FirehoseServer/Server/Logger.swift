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

    public let level: Level

    public init(level: Level) { self.level = level }

    @inline(__always) public func isEnabled(_ level: Level) -> Bool { level >= self.level && level != .none }

    public func debug(_ message: @autoclosure () -> String) { log(.debug, message) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message) }
    public func warn(_ message: @autoclosure () -> String) { log(.warn, message) }
    public func error(_ message: @autoclosure () -> String) { log(.error, message) }

    private func log(_ level: Level, _ message: () -> String) {
        guard isEnabled(level) else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let stamp = "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
        var line = "\(stamp) \(level.label) \(message())\n"
        // One write(2) per line, so lines from different threads never interleave; never blocking.
        line.withUTF8 { StderrWriter.write($0) }
    }

    private func pad(_ value: Int32, _ width: Int = 2) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
