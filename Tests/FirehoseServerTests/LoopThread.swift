import Foundation
@testable import FirehoseServer

/// An `EventLoop` running on its own thread, as the server runs it, for tests of loop-thread objects.
final class LoopThread: @unchecked Sendable {
    let loop: EventLoop
    private let finished = DispatchSemaphore(value: 0)
    /// Objects that hold libevent events on this loop: kept, like the loop, for the whole process
    /// (freeing an event after its base would be a use after free).
    private var kept: [AnyObject] = []
    nonisolated(unsafe) private static var retired: [LoopThread] = []

    init() throws {
        loop = try EventLoop()
        let thread = Thread { [self] in
            loop.run()
            finished.signal()
        }
        thread.start()
    }

    /// Loop thread only.
    func keep(_ object: AnyObject) { kept.append(object) }

    /// Runs `body` on the loop thread and returns its result.
    @discardableResult
    func onLoop<T>(_ body: @escaping () -> T) -> T {
        let result = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let job = Box(body)
        loop.execute {
            result.value = job.value!()
            done.signal()
        }
        done.wait()
        return result.value!
    }

    func stop() {
        loop.stop()
        finished.wait()
        LoopThread.retired.append(self)
    }
}
