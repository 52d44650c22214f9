#if canImport(Glibc)
import Glibc
#endif

/// CPU time and resident memory of processes, read from /proc (Linux only), and of the tool itself.
public enum ProcessStats {
    /// User plus system CPU seconds of `pid`, nil when the process is gone.
    public static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name; utime and stime are fields 14 and 15 of the whole line.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Resident set size of `pid` in KiB (VmRSS), nil when the process is gone.
    public static func residentKiB(pid: Int32) -> Int? {
        guard let status = readFile("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst(6).filter { $0.isNumber })
        }
        return nil
    }

    /// The tool's own user plus system CPU seconds.
    public static func selfCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// CPU seconds of the measured processes and of the tool over one phase of a run.
public struct CPUMeter {
    public let pids: [Int32]
    private var startServer: [Double?] = []
    private var startSelf = 0.0

    public init(pids: [Int32]) { self.pids = pids }

    public mutating func start() {
        startServer = pids.map { ProcessStats.cpuSeconds(pid: $0) }
        startSelf = ProcessStats.selfCPUSeconds()
    }

    /// (server seconds per pid, the tool's seconds) since `start()`.
    public func read() -> (server: [(Int32, Double)], client: Double) {
        let server = zip(pids, startServer).compactMap { pid, start -> (Int32, Double)? in
            guard let start, let now = ProcessStats.cpuSeconds(pid: pid) else { return nil }
            return (pid, now - start)
        }
        return (server, ProcessStats.selfCPUSeconds() - startSelf)
    }
}
