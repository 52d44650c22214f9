/// A binary min-heap of channels by expiry time in which each channel knows its own position, so
/// a publish that moves a channel's expiry is at most an O(log n) update of its one entry: the
/// heap never holds more entries than there are expiring channels, however often they are
/// published to.
///
/// An entry is ordered by `heapKey`, the deadline it was placed with, which is never later than
/// the channel's `expiresAt`. A publish usually moves a deadline later (the TTL starts again), and
/// then the entry stays where it is: `soonest()` re-places it only if it reaches the top. Sinking
/// it at once took six swaps, each retaining and releasing two channels, on every publish to one
/// of 100 channels (about 570 instructions of each publish, callgrind, `ws100ch`).
struct ExpiryHeap {
    private var items: [LocalChannel] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    /// The channel that expires first. Entries whose deadline moved later are put in their
    /// place on the way: once the top's key is its own deadline, no other channel can expire
    /// sooner (every key is at most its channel's deadline).
    mutating func soonest() -> LocalChannel? {
        while let top = items.first {
            let deadline = top.expiresAt ?? .infinity
            guard deadline != top.heapKey else { return top }
            top.heapKey = deadline
            _ = siftDown(0)
        }
        return nil
    }

    /// Inserts `channel`, or moves it to match its changed `expiresAt`.
    mutating func update(_ channel: LocalChannel) {
        let deadline = channel.expiresAt ?? .infinity
        if channel.heapIndex >= 0 {
            // Later: left for `soonest()` to find. Earlier: placed now, or it would be found late.
            guard deadline < channel.heapKey else { return }
            channel.heapKey = deadline
        } else {
            channel.heapKey = deadline
            channel.heapIndex = items.count
            items.append(channel)
        }
        siftUp(channel.heapIndex)
    }

    mutating func remove(_ channel: LocalChannel) {
        let index = channel.heapIndex
        guard index >= 0 else { return }
        let last = items.count - 1
        if index != last {
            items.swapAt(index, last)
            items[index].heapIndex = index
        }
        items.removeLast()
        channel.heapIndex = -1
        if index < items.count { siftUp(siftDown(index)) }
    }

    private func key(_ index: Int) -> Double { items[index].heapKey }

    private mutating func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard key(index) < key(parent) else { break }
            swap(index, parent)
            index = parent
        }
    }

    private mutating func siftDown(_ start: Int) -> Int {
        var index = start
        while true {
            let left = 2 * index + 1
            let right = left + 1
            var smallest = index
            if left < items.count, key(left) < key(smallest) { smallest = left }
            if right < items.count, key(right) < key(smallest) { smallest = right }
            guard smallest != index else { return index }
            swap(index, smallest)
            index = smallest
        }
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        items.swapAt(a, b)
        items[a].heapIndex = a
        items[b].heapIndex = b
    }
}
