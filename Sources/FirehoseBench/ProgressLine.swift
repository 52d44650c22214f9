#if canImport(Glibc)
import Glibc
#endif

/// Once a second, one line on stderr saying where the run is (rewritten in place on a terminal).
final class ProgressLine {
    private let label: String
    private let startedAt = monotonicMicros()
    private var lastAt: UInt64 = 0
    private let terminal = isatty(2) != 0
    private var wrote = false

    init(label: String) { self.label = label }

    func update(_ now: UInt64, _ text: () -> String) {
        guard now - lastAt >= 1_000_000 else { return }
        lastAt = now
        let seconds = Double((now - startedAt) / 100_000) / 10
        let line = "[\(label) \(seconds)s] \(text())"
        writeToStandardError(terminal ? "\r\u{1b}[K" + line : line + "\n")
        wrote = true
    }

    func finish() {
        if terminal, wrote { writeToStandardError("\n") }
    }

    private func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}
