#if canImport(Glibc)
import Glibc
#endif

/// Something that must end at a wall-clock time of its own (an open WebSocket or event stream
/// whose token expires). It knows its place in the `ExpiryQueue` holding it.
protocol Expiring: AnyObject {
    /// Position in the queue's heap; -1 when in no queue. Only the queue writes it.
    var expiryIndex: Int { get set }
    /// Unix seconds at which `expired()` is due.
    var expiresAt: Double { get }
    /// Called on the loop thread once `expiresAt` has passed; already out of the queue.
    func expired()
}

/// Wall-clock deadlines that each differ (token expiries), which `DeadlineQueue`'s one shared
/// duration cannot hold: a binary min-heap with one libevent timer set for the earliest. Adding
/// and removing are O(log n) and happen once per connection; a delivered message never touches
/// it. Loop thread only.
final class ExpiryQueue {
    private var items: [Expiring] = []
    private var timer: LoopTimer!

    init(loop: EventLoop) {
        timer = LoopTimer(loop: loop) { [unowned self] in self.expire() }
    }

    var count: Int { items.count }

    /// Seconds since the Unix epoch with sub-second precision (token times are Unix seconds).
    static func wallClock() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    func add(_ item: Expiring) {
        guard item.expiryIndex < 0 else { return }
        item.expiryIndex = items.count
        items.append(item)
        siftUp(item.expiryIndex)
        rearm()
    }

    func remove(_ item: Expiring) {
        let index = item.expiryIndex
        guard index >= 0, index < items.count, items[index] === item else { return }
        let last = items.count - 1
        if index != last {
            items.swapAt(index, last)
            items[index].expiryIndex = index
        }
        items.removeLast()
        item.expiryIndex = -1
        if index < items.count { siftUp(siftDown(index)) }
        rearm()
    }

    private func rearm() {
        guard let first = items.first else { return timer.cancel() }
        timer.schedule(after: first.expiresAt - Self.wallClock())
    }

    private func expire() {
        let now = Self.wallClock()
        while let first = items.first, first.expiresAt <= now + 0.002 {
            remove(first)
            first.expired()
        }
        rearm()
    }

    private func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard items[index].expiresAt < items[parent].expiresAt else { break }
            swap(index, parent)
            index = parent
        }
    }

    private func siftDown(_ start: Int) -> Int {
        var index = start
        while true {
            let left = 2 * index + 1, right = left + 1
            var smallest = index
            if left < items.count, items[left].expiresAt < items[smallest].expiresAt { smallest = left }
            if right < items.count, items[right].expiresAt < items[smallest].expiresAt { smallest = right }
            guard smallest != index else { return index }
            swap(index, smallest)
            index = smallest
        }
    }

    private func swap(_ a: Int, _ b: Int) {
        items.swapAt(a, b)
        items[a].expiryIndex = a
        items[b].expiryIndex = b
    }
}
