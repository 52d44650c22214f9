import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// The load generator's single libevent loop. Everything the tool does (connecting, writing,
/// reading, pacing) happens on the thread that called `run()`, so no state needs a lock, and the
/// tool's CPU figure is one core's worth at most, like the server's.
public final class BenchLoop {
    let base: OpaquePointer
    /// One read buffer for every socket: reads are handled to completion before the next one.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    public init() throws(BenchError) {
        guard let base = event_base_new() else { throw .setup("event_base_new failed") }
        self.base = base
    }

    deinit {
        event_base_free(base)
        readBuffer.deallocate()
    }

    public func run() { event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY) }
    public func stop() { event_base_loopbreak(base) }

    /// Raises the open-file limit to the hard limit: 10,000 subscribers need 10,000 descriptors.
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return Int(limit.rlim_cur)
    }
}

/// Microseconds on the monotonic clock: payload send times and receive times use the same clock,
/// in the same process, so a latency is a plain difference.
@inline(__always)
public func monotonicMicros() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
}

/// A one-shot timer; reschedule it from its action to repeat.
final class BenchTimer {
    private var event: OpaquePointer!
    private let action: () -> Void

    init(loop: BenchLoop, action: @escaping () -> Void) {
        self.action = action
        event = event_new(loop.base, -1, 0, { _, _, context in
            Unmanaged<BenchTimer>.fromOpaque(context!).takeUnretainedValue().action()
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { event_free(event) }

    func schedule(after seconds: Double) {
        let clamped = max(0, seconds)
        var delay = timeval(tv_sec: Int(clamped), tv_usec: Int((clamped - clamped.rounded(.down)) * 1_000_000))
        event_add(event, &delay)
    }

    func cancel() { event_del(event) }
}

public enum BenchError: Error, CustomStringConvertible {
    case setup(String)
    case usage(String)

    public var description: String {
        switch self {
        case let .setup(reason): "cannot run: \(reason)"
        case let .usage(reason): reason
        }
    }
}
