internal import FirehoseCore

/// What every connection and transport shares: the loop, the settings, the backend, the access
/// policy, the metrics and the timers. It knows no transport and no router (those are built on
/// top of it). Loop thread only.
final class ServerContext {
    let loop: EventLoop
    let configuration: ServerConfiguration
    let logger: Logger
    let backend: ChannelBackend
    let policy: AccessPolicy
    let metrics: MetricsRecorder
    /// What the admin `/metrics` counts beyond `metrics` (rejections, slow consumers, publish timing).
    let operations = OperationsCounters()
    /// The access log (`--access-log`), nil when off.
    let accessLog: AccessLog?
    /// Connections with no request in progress, closed after `idleTimeout`.
    let idleQueue: DeadlineQueue
    /// Held long-polls, answered 204 after `longPollTimeout`.
    let longPollQueue: DeadlineQueue
    /// Connections closing after a refused request, discarding input for a moment (see `SocketConnection`).
    let lingerQueue: DeadlineQueue
    /// Open WebSockets, pinged when silent for `webSocketPingInterval` and closed if still silent.
    let webSocketPingQueue: DeadlineQueue
    /// WebSockets and event streams whose token expires, ended at its expiry (spec/auth.md).
    let credentialExpiry: ExpiryQueue
    private(set) var openConnections = 0
    /// Every open client socket, for the drain (see `ConnectionRegistry`).
    let connections = ConnectionRegistry()
    /// Set once, by the first SIGTERM/SIGINT: readiness answers 503, held requests end, and every
    /// connection closes after its current request.
    var draining = false
    private(set) var openWebSockets = 0

    init(loop: EventLoop, configuration: ServerConfiguration, logger: Logger, backend: ChannelBackend, policy: AccessPolicy) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.backend = backend
        self.policy = policy
        accessLog = configuration.logging.accessLog ? AccessLog(logger: logger, configuration: configuration.logging) : nil
        metrics = MetricsRecorder(interval: configuration.metricsInterval)
        idleQueue = DeadlineQueue(loop: loop, duration: configuration.idleTimeout)
        longPollQueue = DeadlineQueue(loop: loop, duration: configuration.longPollTimeout)
        lingerQueue = DeadlineQueue(loop: loop, duration: 2)
        webSocketPingQueue = DeadlineQueue(loop: loop, duration: configuration.webSocketPingInterval)
        credentialExpiry = ExpiryQueue(loop: loop)
    }

    func connectionOpened() { openConnections += 1 }
    func connectionClosed() { openConnections -= 1 }

    func webSocketOpened() {
        openWebSockets += 1
        record(.connectionsOpened)
    }

    func webSocketClosed() {
        openWebSockets -= 1
        record(.connectionsClosed)
    }

    func record(_ counter: MetricsRecorder.Counter, channel: String? = nil, amount: Int = 1) {
        metrics.record(counter, channel: channel, amount: amount, now: EventLoop.unixTime())
    }
}
