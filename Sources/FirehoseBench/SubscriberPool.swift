#if canImport(Glibc)
import Glibc
#endif

/// The subscribers of a run, spread over its channels, and the pacing of their first connections:
/// at most `concurrency` are being opened at once (the rest wait their turn), so a run of 10,000
/// does not overflow the server's accept queue and wait out SYN retransmissions.
final class SubscriberPool {
    let subscribers: [Subscriber]
    private let concurrency: Int
    private var nextToConnect = 0
    private var opening = 0
    private(set) var established = 0
    private var isEstablished: [Bool]
    /// Hears of a connect that failed at once (out of descriptors, ...). The subscriber keeps its
    /// slot unless the run calls `giveUp`.
    var connectFailed: (Subscriber, Int32) -> Void = { _, _ in }

    init(count: Int, channels: Int, transport: SubscriberTransport, target: BenchTarget, loop: BenchLoop,
         ledger: DeliveryLedger, host: SubscriberHost, concurrency: Int) {
        subscribers = (0..<count).map { index in
            let channel = index % channels
            return switch transport {
            case .longpoll: LongPollSubscriber(index: index, channel: channel, target: target, loop: loop, ledger: ledger, host: host)
            case .ws: WebSocketSubscriber(index: index, channel: channel, target: target, loop: loop, ledger: ledger, host: host)
            case .sse: EventSourceSubscriber(index: index, channel: channel, target: target, loop: loop, ledger: ledger, host: host)
            }
        }
        self.concurrency = concurrency
        isEstablished = Array(repeating: false, count: count)
    }

    /// Every subscriber has been started, and none is still being opened.
    var allOpened: Bool { nextToConnect == subscribers.count && opening == 0 }

    func hasEstablished(_ subscriber: Subscriber) -> Bool { isEstablished[subscriber.index] }

    /// Starts waiting subscribers while slots are free.
    func connectMore() {
        while opening < concurrency, nextToConnect < subscribers.count {
            let subscriber = subscribers[nextToConnect]
            nextToConnect += 1
            opening += 1
            let error = subscriber.start()
            if error != 0 { connectFailed(subscriber, error) }
        }
    }

    /// Records a subscriber's first establishment, which frees its slot for the next one.
    /// Returns false when it had been established before (a reconnect).
    func markEstablished(_ subscriber: Subscriber) -> Bool {
        guard !isEstablished[subscriber.index] else { return false }
        isEstablished[subscriber.index] = true
        established += 1
        opening -= 1
        connectMore()
        return true
    }

    /// A subscriber that will not be retried gives its slot to the next (call `connectMore` after).
    func giveUp(_ subscriber: Subscriber) {
        precondition(!isEstablished[subscriber.index], "only a subscriber still being opened holds a slot")
        opening -= 1
    }
}
