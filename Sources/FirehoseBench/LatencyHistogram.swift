/// Latencies in microseconds, bucketed log-linearly: exact below 128 µs, then 64 buckets per power
/// of two (under 1.6% error), so a million deliveries cost a fixed ~19 KB and O(1) per record.
public struct LatencyHistogram: Sendable {
    private static let subBuckets = 64
    private var counts = [UInt64](repeating: 0, count: 64 * 40 + 128)
    public private(set) var count: UInt64 = 0
    public private(set) var max: UInt64 = 0

    public init() {}

    public mutating func record(_ micros: UInt64) {
        counts[Self.index(of: micros)] += 1
        count += 1
        if micros > max { max = micros }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        count += other.count
        if other.max > max { max = other.max }
    }

    /// The value below which `fraction` of the recordings fall, as the middle of its bucket
    /// (never above the true maximum). 0 when nothing was recorded.
    public func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, UInt64((fraction * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= rank { return Swift.min(max, Self.middle(of: index)) }
        }
        return max
    }

    static func index(of value: UInt64) -> Int {
        let bits = 64 - value.leadingZeroBitCount
        let shift = Swift.max(0, bits - 7)
        return subBuckets * shift + Int(value >> UInt64(shift))
    }

    static func middle(of index: Int) -> UInt64 {
        let shift = Swift.max(0, index / subBuckets - 1)
        let low = UInt64(index - subBuckets * shift) << UInt64(shift)
        return low + ((UInt64(1) << UInt64(shift)) >> 1)
    }
}
