import XCTest
@testable import FirehoseServer

/// `ExpiryHeap` (Backend/Memory/ExpiryHeap.swift): channels ordered by expiry, each knowing its own
/// place so that moving or removing one is a single update.
final class ExpiryHeapTests: XCTestCase {
    private let owner = RecordingOwner()

    private func channels(_ expiries: [Double?]) -> [LocalChannel] {
        expiries.enumerated().map { index, expiry in
            let channel = LocalChannel(name: "/\(index)", owner: owner)
            channel.expiresAt = expiry
            return channel
        }
    }

    /// Empties the heap from the top, returning the names in the order they came out.
    private func drain(_ heap: inout ExpiryHeap) -> [String] {
        var names: [String] = []
        while let first = heap.soonest() {
            names.append(first.name)
            heap.remove(first)
            XCTAssertEqual(first.heapIndex, -1, "\(first.name) forgets its place when removed")
        }
        return names
    }

    func testComesOutInExpiryOrder() {
        let cases: [(name: String, expiries: [Double?], order: [String])] = [
            ("ascending", [1, 2, 3], ["/0", "/1", "/2"]),
            ("descending", [3, 2, 1], ["/2", "/1", "/0"]),
            ("shuffled", [5, 1, 4, 2, 3], ["/1", "/3", "/4", "/2", "/0"]),
            ("one", [7], ["/0"]),
            ("no expiry sorts last", [nil, 2, 1], ["/2", "/1", "/0"]),
        ]
        for test in cases {
            var heap = ExpiryHeap()
            for channel in channels(test.expiries) { heap.update(channel) }
            XCTAssertEqual(heap.count, test.expiries.count, test.name)
            XCTAssertEqual(drain(&heap), test.order, test.name)
            XCTAssertTrue(heap.isEmpty, test.name)
        }
    }

    func testUpdateMovesAChannelWithoutAddingIt() {
        // Five channels expiring at 10...50; one is moved, then the order is read back.
        let cases: [(name: String, moved: Int, to: Double?, order: [String])] = [
            ("last to first", 4, 5, ["/4", "/0", "/1", "/2", "/3"]),
            ("first to last", 0, 60, ["/1", "/2", "/3", "/4", "/0"]),
            ("middle later", 2, 45, ["/0", "/1", "/3", "/2", "/4"]),
            ("middle earlier", 3, 15, ["/0", "/3", "/1", "/2", "/4"]),
            ("persisted: never first", 0, nil, ["/1", "/2", "/3", "/4", "/0"]),
            ("unchanged", 2, 30, ["/0", "/1", "/2", "/3", "/4"]),
        ]
        for test in cases {
            var heap = ExpiryHeap()
            let all = channels([10, 20, 30, 40, 50])
            for channel in all { heap.update(channel) }
            all[test.moved].expiresAt = test.to
            heap.update(all[test.moved])
            XCTAssertEqual(heap.count, 5, "\(test.name): one entry per channel")
            XCTAssertEqual(drain(&heap), test.order, test.name)
        }
    }

    func testRemoveFromAnyPlace() {
        for removed in 0..<6 {
            var heap = ExpiryHeap()
            let all = channels([6, 5, 4, 3, 2, 1])
            for channel in all { heap.update(channel) }
            heap.remove(all[removed])
            XCTAssertEqual(all[removed].heapIndex, -1)
            heap.remove(all[removed])
            XCTAssertEqual(heap.count, 5, "removing twice removes once")
            let expected = (0..<6).reversed().filter { $0 != removed }.map { "/\($0)" }
            XCTAssertEqual(drain(&heap), expected, "removed /\(removed)")
        }
    }

    func testRemovingAChannelNeverAddedDoesNothing() {
        var heap = ExpiryHeap()
        let all = channels([1, 2])
        heap.update(all[0])
        heap.remove(all[1])
        XCTAssertEqual(heap.count, 1)
        XCTAssertTrue(heap.soonest() === all[0])
    }

    func testMatchesASortedModelUnderMixedOperations() {
        // A fixed pseudo-random run of inserts, moves and removals, checked against a sort after each.
        var random = SplitMix(seed: 42)
        let all = channels(Array(repeating: nil, count: 40))
        var heap = ExpiryHeap()
        var inHeap = Set<String>()
        for step in 0..<2_000 {
            let channel = all[random.next(below: all.count)]
            if random.next(below: 4) == 0 {
                heap.remove(channel)
                inHeap.remove(channel.name)
            } else {
                channel.expiresAt = random.next(below: 10) == 0 ? nil : Double(random.next(below: 1_000))
                heap.update(channel)
                inHeap.insert(channel.name)
            }
            let soonest = all.filter { inHeap.contains($0.name) }.map { $0.expiresAt ?? .infinity }.min()
            let placed = all.allSatisfy { ($0.heapIndex >= 0) == inHeap.contains($0.name) }
            // One report at the first divergence: every later step would repeat it.
            let top = heap.soonest()
            guard heap.count == inHeap.count, placed, top.map({ $0.expiresAt ?? .infinity }) == soonest else {
                return XCTFail("step \(step): count \(heap.count) vs \(inHeap.count), positions consistent: \(placed), "
                               + "first \(String(describing: top?.expiresAt)) vs soonest \(String(describing: soonest))")
            }
        }
        var previous = -Double.infinity
        while let first = heap.soonest() {
            let key = first.expiresAt ?? .infinity
            XCTAssertLessThanOrEqual(previous, key)
            previous = key
            heap.remove(first)
        }
    }
}

/// A small deterministic generator, so a failing run can be replayed exactly.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
