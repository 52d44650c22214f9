/// Every delivery of a run, accounted per subscriber: the counters each one received (exact loss,
/// duplicate and reorder counts), the latency histogram, and which subscribers have been primed.
///
/// Counter 0 is the priming message: published until every subscriber has seen one, so that the
/// measured messages start only once every subscriber is known to be waiting on the server.
final class DeliveryLedger {
    private(set) var trackers: [DeliveryTracker]
    private(set) var primed: [Bool]
    private(set) var primedCount = 0
    private(set) var latency = LatencyHistogram()
    /// Deliveries of measured messages, including duplicates.
    private(set) var received = 0
    private(set) var unique = 0
    private(set) var duplicates = 0
    private(set) var reordered = 0
    /// Deliveries whose body was not a bench payload (another publisher on the channel, a bug).
    private(set) var unreadable = 0
    private(set) var lastDeliveryAt: UInt64 = 0
    /// Per message counter, its slowest delivery (µs): one slow fan-out shows as one large entry,
    /// where the histogram alone cannot tell it from a uniformly slower run.
    private(set) var slowestByCounter: [UInt64] = []

    init(subscribers: Int, expectedPerSubscriber: Int) {
        trackers = Array(repeating: DeliveryTracker(expectedCount: expectedPerSubscriber), count: subscribers)
        primed = Array(repeating: false, count: subscribers)
    }

    func deliver(subscriber: Int, body: UnsafeRawBufferPointer, at now: UInt64) {
        guard let (counter, sentAt) = BenchPayload.parse(body) else {
            unreadable += 1
            return
        }
        if counter == 0 {
            if !primed[subscriber] {
                primed[subscriber] = true
                primedCount += 1
            }
            return
        }
        received += 1
        lastDeliveryAt = now
        switch trackers[subscriber].record(counter) {
        case .duplicate:
            duplicates += 1
        case .reordered:
            reordered += 1
            unique += 1
            record(counter, latency: now &- sentAt)
        case .inOrder:
            unique += 1
            record(counter, latency: now &- sentAt)
        }
    }

    private func record(_ counter: Int, latency micros: UInt64) {
        latency.record(micros)
        if counter >= slowestByCounter.count {
            slowestByCounter.append(contentsOf: repeatElement(0, count: counter + 1 - slowestByCounter.count))
        }
        slowestByCounter[counter] = max(slowestByCounter[counter], micros)
    }

    /// Messages subscriber `index` should have had but did not, given how many were published
    /// (successfully) to its channel.
    func lost(subscriber index: Int, published: Int) -> Int {
        trackers[index].lost(expected: published)
    }
}
