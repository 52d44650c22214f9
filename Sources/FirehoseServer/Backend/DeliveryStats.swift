/// Which transport a subscriber serves, for the per-transport delivery and subscription counts.
enum SubscriberTransport: Int, CaseIterable {
    case longPoll = 0, webSocket, sse, other

    var label: String {
        switch self {
        case .longPoll: "long_poll"
        case .webSocket: "websocket"
        case .sse: "sse"
        case .other: "other"
        }
    }
}

/// A backend's delivery counts: messages handed to subscribers and live subscriptions, by
/// transport. Plain integers behind a pointer, written only on the loop thread: a fan-out loads
/// the pointer once and then adds 1 per delivery (one memory add, no atomic, no hashing, no
/// array uniqueness check). Read by the admin `/metrics`.
final class DeliveryStats {
    let delivered: UnsafeMutablePointer<Int>
    let subscriptions: UnsafeMutablePointer<Int>

    init() {
        delivered = .allocate(capacity: SubscriberTransport.allCases.count)
        delivered.initialize(repeating: 0, count: SubscriberTransport.allCases.count)
        subscriptions = .allocate(capacity: SubscriberTransport.allCases.count)
        subscriptions.initialize(repeating: 0, count: SubscriberTransport.allCases.count)
    }

    deinit {
        delivered.deallocate()
        subscriptions.deallocate()
    }

    func delivered(_ transport: SubscriberTransport) -> Int { delivered[transport.rawValue] }
    func subscriptions(_ transport: SubscriberTransport) -> Int { subscriptions[transport.rawValue] }
}
