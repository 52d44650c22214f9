internal import CLibevent
#if canImport(Glibc)
import Glibc
#endif

/// Work that the loop runs once, soon, on its own thread (see `EventLoop.defer`).
protocol DeferredWork: AnyObject {
    func runDeferred()
}

/// One libevent `event_base` driven by one thread. Every protocol object (channels, subscribers,
/// connections) is confined to that thread and touched only from its callbacks, so none of them
/// needs a lock. Only `execute(_:)` and `stop()` may be called from other threads.
///
/// Why no Swift actor for channel state: every call into a channel already arrives synchronously
/// on this thread from a C callback. An actor pinned to a loop executor would be entered with
/// `assumeIsolated` at the same cost as a plain call (~120 ns measured), and any `await` on the
/// request path would cost 13-21 us per hop. A loop-confined, non-Sendable class gives the same
/// guarantee (the compiler keeps it from crossing threads) without an executor.
public final class EventLoop: @unchecked Sendable {
    let base: EventBase
    private var wakeEvent: OpaquePointer!
    private var deferEvent: OpaquePointer!
    private var mutex = pthread_mutex_t()
    private var crossThreadJobs: [@Sendable () -> Void] = []
    private var deferred: [DeferredWork] = []
    private var deferredAhead: [DeferredWork] = []
    /// The lists being run (`runDeferredWork`).
    private var running: [DeferredWork] = []
    private var runningAhead: [DeferredWork] = []
    private var deferScheduled = false
    /// One buffer for every socket read on this loop: a read is handled to completion before the next.
    let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    private static let threadingReady: Bool = { evthread_use_pthreads() == 0 }()

    public init() throws(ServerError) {
        guard EventLoop.threadingReady else { throw .startup("libevent threading support is unavailable") }
        guard let config = event_config_new() else { throw .startup("event_config_new failed") }
        defer { event_config_free(config) }
        // Two priorities: 0 for publishers' connections, 1 (libevent's default for new events)
        // for everything else. A loop round runs at most `lowPriorityBatch` priority-1 callbacks
        // before it polls again, and priority 0 goes first after each poll: a publish waits
        // behind a slice of a 10,000-socket round of re-polls, not behind all of it. The deferred
        // work stays at priority 1, at the end of the round: libevent ends a round early when a
        // callback activates an event of a higher priority than its own, and re-polls defer work.
        guard event_config_set_max_dispatch_interval(config, nil, Int32(EventLoop.lowPriorityBatch), 1) == 0,
              let base = event_base_new_with_config(config) else { throw .startup("event_base_new_with_config failed") }
        guard event_base_priority_init(base, 2) == 0 else { throw .startup("event_base_priority_init failed") }
        self.base = EventBase(raw: base)
        pthread_mutex_init(&mutex, nil)
        let context = Unmanaged.passUnretained(self).toOpaque()
        wakeEvent = event_new(base, -1, Int16(EV_PERSIST), { _, _, context in
            Unmanaged<EventLoop>.fromOpaque(context!).takeUnretainedValue().runCrossThreadJobs()
        }, context)
        deferEvent = event_new(base, -1, 0, { _, _, context in
            Unmanaged<EventLoop>.fromOpaque(context!).takeUnretainedValue().runDeferredWork()
        }, context)
        event_add(wakeEvent, nil)
    }

    /// Priority-1 callbacks a loop round runs before it polls for new events (see `init`). Each
    /// poll is one `epoll_wait`, about 1 per 128 callbacks; a long-poll re-poll read costs
    /// about 10 us, so a ready publish waits at most about 1.3 ms behind them.
    static let lowPriorityBatch = 128

    /// Puts `event` ahead of the loop's ordinary events (publishers' connections). Fails, and
    /// changes nothing, while the event is active (queued to run).
    @discardableResult
    static func prioritize(_ event: OpaquePointer) -> Bool {
        event_priority_set(event, 0) == 0
    }

    deinit {
        event_free(wakeEvent)
        event_free(deferEvent)
        event_base_free(base.raw)
        pthread_mutex_destroy(&mutex)
        readBuffer.deallocate()
    }

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        event_base_loop(base.raw, EVLOOP_NO_EXIT_ON_EMPTY)
    }

    /// Makes `run()` return after the current callback. Safe from any thread.
    public func stop() {
        event_base_loopbreak(base.raw)
    }

    /// Runs `job` on the loop thread. Safe from any thread; used for start-up, shutdown and tests.
    public func execute(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&mutex)
        crossThreadJobs.append(job)
        pthread_mutex_unlock(&mutex)
        event_active(wakeEvent, EV_READ, 0)
    }

    /// Runs `work.runDeferred()` later in this loop iteration, outside the current call stack.
    /// Loop thread only. Used so a delivery never re-enters request parsing.
    func `defer`(_ work: DeferredWork) {
        deferred.append(work)
        scheduleDeferred()
    }

    /// Like `defer`, but runs before the work deferred with `defer` in the same round: a
    /// publish's `202` (`PublishAcks`) must not wait behind the re-parsing of the 10,000
    /// long-poll connections its fan-out just answered (measured: the `202` came 138 ms after
    /// the request instead of 0.3 ms, `lp10k-2hz`).
    func deferAhead(_ work: DeferredWork) {
        deferredAhead.append(work)
        scheduleDeferred()
    }

    private func scheduleDeferred() {
        if !deferScheduled {
            deferScheduled = true
            event_active(deferEvent, EV_TIMEOUT, 0)
        }
    }

    private func runCrossThreadJobs() {
        pthread_mutex_lock(&mutex)
        let jobs = crossThreadJobs
        crossThreadJobs.removeAll()
        pthread_mutex_unlock(&mutex)
        for job in jobs { job() }
    }

    private func runDeferredWork() {
        deferScheduled = false
        // Each list is swapped with an empty spare rather than copied and emptied: emptying a
        // list still shared with its copy allocated a new buffer every round. Work deferred while
        // these run goes into the emptied lists, for the next round.
        swap(&deferredAhead, &runningAhead)
        swap(&deferred, &running)
        for item in runningAhead { item.runDeferred() }
        for item in running { item.runDeferred() }
        runningAhead.removeAll(keepingCapacity: true)
        running.removeAll(keepingCapacity: true)
    }

    /// Seconds on the monotonic clock, coarse (a few ms) and cheap: for timeouts and TTLs.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Seconds since the Unix epoch, for metrics buckets.
    static func unixTime() -> Int {
        Int(time(nil))
    }
}

/// A one-shot or repeating libevent timer owned by a Swift object. Loop thread only.
final class LoopTimer {
    private var event: OpaquePointer!
    private let action: () -> Void
    /// Kept here rather than asked of libevent: `event_pending` takes the base's lock, and the
    /// deadline queues ask on every request.
    private(set) var isPending = false

    init(loop: EventLoop, action: @escaping () -> Void) {
        self.action = action
        event = event_new(loop.base.raw, -1, 0, { _, _, context in
            let timer = Unmanaged<LoopTimer>.fromOpaque(context!).takeUnretainedValue()
            timer.isPending = false
            timer.action()
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Runs ahead of ordinary events, like a publisher's reads (tests of the loop's priorities).
    /// Call while the timer is not pending.
    func prioritize() {
        EventLoop.prioritize(event)
    }

    deinit { event_free(event) }

    func schedule(after seconds: Double) {
        let clamped = max(0, seconds)
        var delay = timeval(tv_sec: Int(clamped), tv_usec: Int((clamped - clamped.rounded(.down)) * 1_000_000))
        event_add(event, &delay)
        isPending = true
    }

    func cancel() {
        event_del(event)
        isPending = false
    }
}
