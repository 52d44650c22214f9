/// A binary min-heap of channels by expiry time in which each channel knows its own position, so
/// a publish that moves a channel's expiry is an O(log n) update of its one entry: the heap never
/// holds more entries than there are expiring channels, however often they are published to.
struct ExpiryHeap {
    private var items: [LocalChannel] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var first: LocalChannel? { items.first }

    /// Inserts `channel`, or moves it to match its changed `expiresAt`.
    mutating func update(_ channel: LocalChannel) {
        if channel.heapIndex < 0 {
            channel.heapIndex = items.count
            items.append(channel)
        }
        siftUp(siftDown(channel.heapIndex))
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

    private func key(_ index: Int) -> Double { items[index].expiresAt ?? .infinity }

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
