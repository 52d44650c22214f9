/// What one subscriber received of one channel's numbered messages (counters 1, 2, 3, ...):
/// a bit per counter, so duplicates, reordering and losses are exact, not estimated.
public struct DeliveryTracker: Sendable {
    public enum Outcome: Equatable, Sendable {
        case inOrder
        /// New, but a higher counter arrived before it.
        case reordered
        case duplicate
    }

    private var seen: [UInt64] = []
    public private(set) var unique = 0
    public private(set) var duplicates = 0
    public private(set) var reordered = 0
    public private(set) var highest = 0

    public init(expectedCount: Int = 0) {
        seen.reserveCapacity((expectedCount + 64) / 64)
    }

    @discardableResult
    public mutating func record(_ counter: Int) -> Outcome {
        precondition(counter > 0, "counters start at 1")
        let word = counter >> 6, bit = UInt64(1) << UInt64(counter & 63)
        if word >= seen.count { seen.append(contentsOf: repeatElement(0, count: word + 1 - seen.count)) }
        if seen[word] & bit != 0 {
            duplicates += 1
            return .duplicate
        }
        seen[word] |= bit
        unique += 1
        if counter < highest {
            reordered += 1
            return .reordered
        }
        highest = counter
        return .inOrder
    }

    public func contains(_ counter: Int) -> Bool {
        let word = counter >> 6
        return word < seen.count && seen[word] & (UInt64(1) << UInt64(counter & 63)) != 0
    }

    /// Counters 1...expected that never arrived.
    public func lost(expected: Int) -> Int {
        var missing = 0
        for counter in stride(from: 1, through: expected, by: 1) where !contains(counter) { missing += 1 }
        return missing
    }
}
