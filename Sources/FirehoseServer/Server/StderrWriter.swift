#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Where log lines go: standard error, without ever blocking the thread that logs. When stderr is
/// a pipe or a socket (a log collector) it is made non-blocking, and a line that does not fit
/// because the reader has stalled is dropped and counted; the next line that fits is preceded by
/// "... N log lines dropped (stderr was full)". (A terminal or a file does not stall, and its
/// flags are shared with the shell, so it is left alone.)
enum StderrWriter {
    private static let dropped = Atomic<Int>(0)

    /// Makes stderr non-blocking if it is a pipe or a socket. Idempotent; any thread.
    static func prepare() {
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFIFO || kind == S_IFSOCK else { return }
        let flags = fcntl(STDERR_FILENO, F_GETFL)
        if flags >= 0, flags & O_NONBLOCK == 0 { _ = fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Lines dropped so far because stderr was full.
    static var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Writes one line with one write(2) (lines up to PIPE_BUF, 4096 bytes, never interleave).
    static func write(_ line: UnsafeBufferPointer<UInt8>) {
        let missed = dropped.exchange(0, ordering: .relaxed)
        if missed > 0 {
            var notice = "... \(LogLimiter.grouped(missed)) log lines dropped (stderr was full)\n"
            let written = notice.withUTF8 { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
            if written < 0 {
                dropped.add(missed + 1, ordering: .relaxed)
                return
            }
        }
        if Glibc.write(STDERR_FILENO, line.baseAddress, line.count) < 0 {
            dropped.add(1, ordering: .relaxed)  // EAGAIN: the reader stalled; never wait for it
        }
    }
}
