/// What a keep-alive request client asks of, and reports to, its owner. Loop thread only.
protocol KeepAliveClientHost: AnyObject {
    /// The next request to send, built now (payloads carry their send time); nil to go idle until
    /// `poke()`.
    func nextRequest(for client: KeepAliveClient) -> [UInt8]?
    func client(_ client: KeepAliveClient, answered response: HTTPResponse, request: [UInt8], latency: UInt64)
    /// The connection broke; the client reconnects and sends the unanswered request again.
    func clientReconnecting(_ client: KeepAliveClient, error: Int32)
}

/// An HTTP/1.1 client with one request in flight on a keep-alive connection: the publishers of a
/// fan-out, and the request loops of the throughput modes.
final class KeepAliveClient: ClientSocketDelegate {
    let index: Int
    private let target: BenchTarget
    private unowned let loop: BenchLoop
    private unowned let host: KeepAliveClientHost
    private var socket: ClientSocket?
    private var reader = HTTPResponseReader()
    private var inFlight: [UInt8]?
    private var sentAt: UInt64 = 0
    private var connected = false
    private(set) var stopped = false
    private lazy var retryTimer = BenchTimer(loop: loop) { [unowned self] in self.connect() }

    init(index: Int, target: BenchTarget, loop: BenchLoop, host: KeepAliveClientHost) {
        self.index = index
        self.target = target
        self.loop = loop
        self.host = host
    }

    var isIdle: Bool { connected && inFlight == nil }

    func start() { connect() }

    /// Asks the host for a request if nothing is in flight.
    func poke() {
        guard connected, inFlight == nil, !stopped, let request = host.nextRequest(for: self) else { return }
        send(request)
    }

    func stop() {
        stopped = true
        retryTimer.cancel()
        socket?.close(abort: true)
        socket = nil
    }

    private func connect() {
        guard !stopped else { return }
        connected = false
        reader = HTTPResponseReader()
        let socket = ClientSocket(loop: loop, delegate: self)
        self.socket = socket
        let error = socket.connect(to: target.address)
        if error != 0 { broken(error) }
    }

    private func send(_ request: [UInt8]) {
        inFlight = request
        sentAt = monotonicMicros()
        socket?.send(request)
    }

    func socketConnected(_ socket: ClientSocket) {
        connected = true
        if let request = inFlight {
            send(request)
        } else {
            poke()
        }
    }

    func socket(_ socket: ClientSocket, received bytes: UnsafeRawBufferPointer, at now: UInt64) {
        reader.append(bytes)
        while self.socket === socket, !stopped {
            let response: HTTPResponse?
            do { response = try reader.next() } catch { return broken(-1) }
            guard let response else { return }
            guard let request = inFlight else { return broken(-1) }  // an answer nobody asked for
            inFlight = nil
            host.client(self, answered: response, request: request, latency: now &- sentAt)
            guard self.socket === socket, !stopped else { return }
            if !response.keepAlive {
                socket.close(abort: false)
                return connect()
            }
            poke()
        }
    }

    func socketClosed(_ socket: ClientSocket, error: Int32) {
        broken(error)
    }

    private func broken(_ error: Int32) {
        socket?.close(abort: true)
        socket = nil
        connected = false
        guard !stopped else { return }
        host.clientReconnecting(self, error: error)
        retryTimer.schedule(after: 0.05)
    }
}
