/// What subscribers report to the scenario driving them. Loop thread only.
protocol SubscriberHost: AnyObject {
    /// The subscription request is on the wire (long-poll) or the upgrade succeeded (WebSocket).
    func subscriberEstablished(_ subscriber: Subscriber)
    /// The connection ended without the scenario asking; `error` is an errno or 0 for a clean close.
    func subscriberClosed(_ subscriber: Subscriber, error: Int32, reason: String)
}

/// One subscribing connection: long-poll or WebSocket, resuming where it left off when it
/// reconnects. Deliveries go straight to the run's ledger.
class Subscriber: ClientSocketDelegate {
    let index: Int
    let channel: Int
    let target: BenchTarget
    unowned let loop: BenchLoop
    unowned let ledger: DeliveryLedger
    unowned let host: SubscriberHost
    var point = ResumePoint()
    var socket: ClientSocket?
    private(set) var connects = 0
    /// Answers that were neither a message nor a time-out (4xx, 5xx, an upgrade refused).
    var errors = 0

    init(index: Int, channel: Int, target: BenchTarget, loop: BenchLoop, ledger: DeliveryLedger, host: SubscriberHost) {
        self.index = index
        self.channel = channel
        self.target = target
        self.loop = loop
        self.ledger = ledger
        self.host = host
    }

    var isConnected: Bool { socket?.isOpen ?? false }

    /// Opens a new connection from the current resume point. Returns errno on immediate failure.
    @discardableResult
    func start() -> Int32 {
        reset()
        connects += 1
        let socket = ClientSocket(loop: loop, delegate: self)
        self.socket = socket
        return socket.connect(to: target.address)
    }

    /// Drops the connection at once (a reset), keeping the resume point for the next `start()`.
    func drop() {
        socket?.close(abort: true)
        socket = nil
    }

    /// Per-connection parsing state to clear before a new connection.
    func reset() {}

    func socketConnected(_ socket: ClientSocket) {}

    func socket(_ socket: ClientSocket, received bytes: UnsafeRawBufferPointer, at now: UInt64) {}

    func socketClosed(_ socket: ClientSocket, error: Int32) {
        self.socket = nil
        host.subscriberClosed(self, error: error, reason: error == 0 ? "closed by server" : String(cString: strerror(error)))
    }

    /// Ends this connection because the server said something unusable.
    func fail(_ reason: String) {
        errors += 1
        socket?.close(abort: true)
        socket = nil
        host.subscriberClosed(self, error: -1, reason: reason)
    }
}

#if canImport(Glibc)
import Glibc
#endif
