internal import FirehoseCore

/// Finds the Redis master through Redis Sentinel and keeps the data connections on it.
///
/// It asks one sentinel at a time (`SENTINEL get-master-addr-by-name`) over a `RedisConnection`
/// (so the same timeout, watchdog and backoff apply as to the data connections), moving on to the
/// next sentinel whenever one cannot be reached, does not answer in time or does not know the
/// master. A second link to a sentinel subscribes to `+switch-master`. The data connections are
/// started once the first answer names the master, and moved (`switchTo`) when a sentinel
/// announces a switch or, asked again after a data connection failed or found a replica where
/// it expected the master (`ROLE`), names another address. Sentinels are reached without
/// authentication: the password and ACL user of the Redis URL are for the data nodes only.
/// Loop thread only.
final class RedisSentinelMonitor {
    private let logger: Logger
    private let sentinels: [RedisSentinelAddress]
    private let masterName: String
    private let dataConnections: [RedisConnection]
    private let query: RedisConnection
    private let events: RedisConnection
    private var queryIndex = 0
    private var eventsIndex = 0
    private var queryInFlight = false
    /// The master last named; `nil` until a sentinel has answered.
    private(set) var master: (host: String, port: Int)?
    private var switches: SubscriptionHandler!
    /// A question asked while no sentinel link was up: asked once one is.
    private var wantsAnswer = true

    init(loop: EventLoop, logger: Logger, sentinels: [RedisSentinelAddress], masterName: String, timeout: Double,
         dataConnections: [RedisConnection]) {
        precondition(!sentinels.isEmpty)
        self.logger = logger
        self.sentinels = sentinels
        self.masterName = masterName
        self.dataConnections = dataConnections
        query = RedisConnection(role: "sentinel", loop: loop, logger: logger,
                                endpoint: RedisEndpoint(host: sentinels[0].host, port: sentinels[0].port), timeout: timeout)
        // The other link starts at another sentinel when there is one, so one sentinel down
        // does not take both away.
        eventsIndex = sentinels.count > 1 ? 1 : 0
        events = RedisConnection(role: "sentinel pub/sub", loop: loop, logger: logger,
                                 endpoint: RedisEndpoint(host: sentinels[eventsIndex].host, port: sentinels[eventsIndex].port),
                                 timeout: timeout)
        switches = SubscriptionHandler { [unowned self] reply in self.event(reply) }
        query.onReady = { [unowned self] in if self.wantsAnswer { self.ask() } }
        query.onFailure = { [unowned self] in
            self.queryInFlight = false
            self.wantsAnswer = true
            self.queryIndex = (self.queryIndex + 1) % self.sentinels.count
            let next = self.sentinels[self.queryIndex]
            self.query.retarget(host: next.host, port: next.port)
        }
        events.onReady = { [unowned self] in
            self.events.subscribe([Array("SUBSCRIBE".utf8), Array("+switch-master".utf8)], handler: self.switches)
        }
        events.onFailure = { [unowned self] in
            self.eventsIndex = (self.eventsIndex + 1) % self.sentinels.count
            let next = self.sentinels[self.eventsIndex]
            self.events.retarget(host: next.host, port: next.port)
        }
        for connection in dataConnections {
            connection.requiresMaster = true
            connection.onFailure = { [unowned self] in self.refresh() }
        }
    }

    func start() {
        query.start()
        events.start()
    }

    /// Asks where the master is (a data connection failed, or a switch may have been missed);
    /// one question at a time.
    func refresh() {
        wantsAnswer = true
        if query.isConnected { ask() }
    }

    private func ask() {
        guard !queryInFlight else { return }
        queryInFlight = true
        wantsAnswer = false
        let sentinel = query.endpoint
        query.command([Array("SENTINEL".utf8), Array("get-master-addr-by-name".utf8), Array(masterName.utf8)]) { [weak self] reply in
            guard let self else { return }
            self.queryInFlight = false
            if case let .array(parts)? = reply, parts.count == 2, case let .string(host) = parts[0],
               let port = parts[1].integerValue, (1...65535).contains(port) {
                self.use(host: String(decoding: host, as: UTF8.self), port: port, source: "sentinel \(sentinel.host):\(sentinel.port)")
                return
            }
            switch reply {
            case nil:
                self.wantsAnswer = true  // the link dropped: `onFailure` moves to the next sentinel
            default:
                // Null (this sentinel does not monitor that name) or an error: try the next one.
                self.logger.warn("sentinel \(sentinel.host):\(sentinel.port) does not name a master \(self.masterName) (\(reply.map { "\($0)" } ?? "no reply")); asking the next sentinel")
                self.wantsAnswer = true
                self.queryIndex = (self.queryIndex + 1) % self.sentinels.count
                let next = self.sentinels[self.queryIndex]
                self.query.switchTo(host: next.host, port: next.port)
            }
        }
    }

    private func event(_ reply: RedisReply?) {
        guard case let .array(parts)? = reply, parts.count == 3, case let .string(kind) = parts[0] else { return }
        switch String(decoding: kind, as: UTF8.self) {
        case "subscribe":
            // A switch announced while this link was down is missed: ask.
            refresh()
        case "message":
            // "<name> <old-ip> <old-port> <new-ip> <new-port>"
            guard case let .string(payload) = parts[2] else { return }
            let fields = String(decoding: payload, as: UTF8.self).split(separator: " ")
            guard fields.count == 5, fields[0] == masterName, let port = Int(fields[4]), (1...65535).contains(port) else { return }
            logger.warn("Sentinel switched master \(masterName) from \(fields[1]):\(fields[2]) to \(fields[3]):\(port)")
            use(host: String(fields[3]), port: port, source: "+switch-master")
        default:
            break
        }
    }

    private func use(host: String, port: Int, source: String) {
        // The same master again: a failed data connection keeps its backoff (reconnecting at once
        // would spin while the sentinels have not yet noticed that the master died).
        if let master, master.host == host, master.port == port { return }
        logger.info("Redis master \(masterName) is at \(host):\(port) (\(source))")
        master = (host, port)
        for connection in dataConnections { connection.switchTo(host: host, port: port) }
    }
}

/// One sentinel's address (`--redis-sentinels host:port,...`).
public struct RedisSentinelAddress: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port` (the port is required: Sentinel has no single usual one to assume silently).
    public init?(_ text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"), colon > text.startIndex,
              let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        self.init(host: String(text[..<colon]), port: port)
    }

    /// A comma-separated list; `nil` if any entry is not `host:port` or the list is empty.
    public static func list(_ text: String) -> [RedisSentinelAddress]? {
        let entries = text.split(separator: ",", omittingEmptySubsequences: true).map { String($0.filter { $0 != " " }) }
        guard !entries.isEmpty else { return nil }
        var addresses: [RedisSentinelAddress] = []
        for entry in entries {
            guard let address = RedisSentinelAddress(entry) else { return nil }
            addresses.append(address)
        }
        return addresses
    }

    public var description: String { "\(host):\(port)" }
}
