internal import FirehoseCore

/// What every connection and transport shares: the loop, the settings, the backend, the access
/// policy, the metrics and the timers. It knows no transport and no router (those are built on
/// top of it). Loop thread only.
///
/// It outlives every connection, session and transport (the process exits once the server has
/// stopped), so they hold it `unowned(unsafe)`: a checked `unowned` reference costs a
/// `swift_unownedRetainStrong` and a release on every access, six per long-poll request.
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
    /// HTTP requests in progress: line, headers and body must all arrive before `requestTimeout`.
    let requestQueue: DeadlineQueue
    /// Connections closing once their output is sent: dropped if that takes `closeFlushTimeout`.
    let closeFlushQueue: DeadlineQueue
    /// `202`s of publishes already delivered to small channels, sent after the loop round's other ready sockets (see `PublishAcks`).
    let publishAcks: PublishAcks
    /// Rate limits for the log lines clients or failures can trigger at will.
    let logLimiter = LogLimiter()
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
        metrics = MetricsRecorder(interval: configuration.metricsInterval, reportedChannels: configuration.hardening.metricsChannels)
        idleQueue = DeadlineQueue(loop: loop, duration: configuration.idleTimeout)
        longPollQueue = DeadlineQueue(loop: loop, duration: configuration.longPollTimeout)
        lingerQueue = DeadlineQueue(loop: loop, duration: 2)
        webSocketPingQueue = DeadlineQueue(loop: loop, duration: configuration.webSocketPingInterval)
        credentialExpiry = ExpiryQueue(loop: loop)
        // Never later than the idle timeout, so a stalled request is dropped no later than FR-7 says.
        requestQueue = DeadlineQueue(loop: loop, duration: min(configuration.hardening.requestTimeout, configuration.idleTimeout))
        closeFlushQueue = DeadlineQueue(loop: loop, duration: configuration.hardening.closeFlushTimeout)
        publishAcks = PublishAcks(loop: loop)
    }

    /// Logs at `level` unless lines of `kind` are over their rate (see `LogLimiter`).
    func logLimited(_ level: Logger.Level, _ kind: String, _ message: @autoclosure () -> String) {
        guard logger.isEnabled(level) else { return }
        let logger = self.logger
        logLimiter.log(kind, now: EventLoop.now(), emit: { line in
            switch level {
            case .debug: logger.debug(line)
            case .info: logger.info(line)
            case .warn: logger.warn(line)
            default: logger.error(line)
            }
        }, message)
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

    /// A publish of `size` bytes to `channel` (`MetricsRecorder.recordPublish`).
    func recordPublish(channel: String, size: Int) {
        metrics.recordPublish(channel: channel, size: size, now: EventLoop.unixTime())
    }
}
