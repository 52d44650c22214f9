/// Rate-limits the log lines that clients (or a failing resource) can trigger at will: per kind
/// of event, the first `burst` lines of each `window` seconds are written, the rest only counted,
/// and the next line of that kind after the window is preceded by "... 1,234 more in the last
/// 10 s". Before this, one ERROR line every 100 ms came out while the fd limit was reached, and
/// any client could have a WARN line written per request. Kinds are a fixed set of call sites,
/// so the table stays small. Loop thread only.
final class LogLimiter {
    private struct Entry {
        var windowStart: Double
        var written: Int
        var suppressed: Int
    }

    let window: Double
    let burst: Int
    private var entries: [String: Entry] = [:]

    init(window: Double = 10, burst: Int = 5) {
        self.window = window
        self.burst = burst
    }

    /// Writes `message` through `emit` unless lines of `kind` are over their rate; `emit` gets
    /// the count line first when a window with suppressed lines has ended.
    func log(_ kind: String, now: Double, emit: (String) -> Void, _ message: () -> String) {
        var entry = entries[kind] ?? Entry(windowStart: now, written: 0, suppressed: 0)
        if now - entry.windowStart >= window {
            if entry.suppressed > 0 {
                emit("\(kind): ... \(LogLimiter.grouped(entry.suppressed)) more in the last \(LogLimiter.seconds(now - entry.windowStart)) s")
            }
            entry = Entry(windowStart: now, written: 0, suppressed: 0)
        }
        if entry.written < burst {
            entry.written += 1
            emit(message())
        } else {
            entry.suppressed += 1
        }
        entries[kind] = entry
    }

    /// 1234567 as "1,234,567".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    private static func seconds(_ value: Double) -> String {
        String(Int(value.rounded()))
    }
}
