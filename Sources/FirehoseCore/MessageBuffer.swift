/// The newest messages of one channel, oldest first, in a ring that never holds more than the
/// capacity of the latest publish (Firehose applies `X-Firehose-Buffer-Size` per publish: an
/// `LPUSH` then `LTRIM` to that size, so the buffer can shrink or grow one message at a time).
///
/// Inlinable, so the server gets a copy specialized for its `Message`: the generic one cost about
/// 1,650 instructions per publish (callgrind), mostly value-witness calls for `Element?`.
public struct MessageBuffer<Element> {
    @usableFromInline var storage: [Element?] = []
    @usableFromInline var head = 0          // index of the oldest element in `storage`
    @usableFromInline var storedCount = 0
    @inlinable public var count: Int { storedCount }

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { count == 0 }

    /// Appends `element`, then drops the oldest elements until at most `limit` remain.
    /// A limit of zero or less empties the buffer (the Redis list is deleted).
    @inlinable public mutating func append(_ element: Element, limit: Int) {
        guard limit > 0 else { removeAll(); return }
        // Make room first, so a full buffer at its limit reuses the oldest slot instead of growing.
        while count >= limit { removeOldest() }
        if count == storage.count { grow(to: Swift.min(Swift.max(4, storage.count * 2), limit)) }
        storage[(head + count) % storage.count] = element
        storedCount += 1
        if storage.count > 64, count * 4 < storage.count { compact() }
    }

    @inlinable public mutating func removeAll() {
        storage = []
        head = 0
        storedCount = 0
    }

    /// The element `offset` places after the oldest (0 is the oldest).
    @inlinable public subscript(offset: Int) -> Element {
        precondition(offset >= 0 && offset < count, "MessageBuffer index out of range")
        return storage[(head + offset) % storage.count]!
    }

    @inlinable public var newest: Element? { count == 0 ? nil : self[count - 1] }

    @inlinable mutating func removeOldest() {
        storage[head] = nil
        head = (head + 1) % storage.count
        storedCount -= 1
    }

    @inlinable mutating func grow(to capacity: Int) {
        var fresh = [Element?](repeating: nil, count: capacity)
        for i in 0..<count { fresh[i] = storage[(head + i) % storage.count] }
        storage = fresh
        head = 0
    }

    /// Gives memory back after a publish shrank the buffer a lot.
    @inlinable mutating func compact() {
        grow(to: Swift.max(4, count))
    }
}
