#if canImport(Glibc)
import Glibc
#endif

/// `--log-file`: stderr (where every log line goes) is pointed at a file, and pointed at it again
/// on SIGHUP so that logrotate can move the old one away.
enum LogFile {
    static func redirectStderr(to path: String) throws(ServerError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .startup("cannot open --log-file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard dup2(fd, STDERR_FILENO) >= 0 else { throw .startup("cannot log to \(path): \(String(cString: strerror(errno)))") }
    }
}
