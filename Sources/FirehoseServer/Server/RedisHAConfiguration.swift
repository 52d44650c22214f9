/// Redis high availability: the master found through Sentinel, and publishes confirmed by replicas.
public struct RedisHAConfiguration: Sendable {
    /// The sentinels to ask where the master is (`--redis-sentinels`); empty: the Redis URL's
    /// host and port are the master.
    public var sentinels: [RedisSentinelAddress] = []
    /// The master's name in the sentinels' configuration (`--redis-master`); required with sentinels.
    public var masterName: String?
    /// Replicas that must confirm a publish (`WAIT`) before it is answered 202; 0: off.
    public var minReplicas = 0
    /// How long a publish waits for those replicas before it is answered 503 (milliseconds).
    public var replicaTimeoutMilliseconds = 500

    public static let minReplicasRange = 0...100
    public static let sentinelCountRange = 1...16

    public init() {}

    /// The replica timeout is bounded by the Redis timeout: a `WAIT` holds up the command
    /// connection, whose watchdog would otherwise drop it mid-wait.
    public static func replicaTimeoutRange(redisTimeout: Double) -> ClosedRange<Int> {
        1...max(1, min(60_000, Int((redisTimeout * 1000).rounded(.down)) - 1))
    }

    func validate(backend: ServerConfiguration.BackendKind, redisTimeout: Double) throws(ServerError) {
        let sentinelList = sentinels.map(\.description).joined(separator: ",")
        if !sentinels.isEmpty, masterName == nil {
            throw .invalidConfiguration("--redis-sentinels \(sentinelList) needs --redis-master NAME (both or neither)")
        }
        if let masterName, sentinels.isEmpty {
            throw .invalidConfiguration("--redis-master \(masterName) needs --redis-sentinels host:port[,host:port...] (both or neither)")
        }
        if let masterName, masterName.isEmpty || masterName.contains(" ") {
            throw .invalidConfiguration("--redis-master '\(masterName)' is not a Sentinel master name (non-empty, no spaces)")
        }
        if !sentinels.isEmpty, !RedisHAConfiguration.sentinelCountRange.contains(sentinels.count) {
            throw .invalidConfiguration("--redis-sentinels names \(sentinels.count) sentinels; out of range (\(RedisHAConfiguration.sentinelCountRange.lowerBound) to \(RedisHAConfiguration.sentinelCountRange.upperBound))")
        }
        guard RedisHAConfiguration.minReplicasRange.contains(minReplicas) else {
            throw .invalidConfiguration("--redis-min-replicas \(minReplicas) is out of range (\(RedisHAConfiguration.minReplicasRange.lowerBound) to \(RedisHAConfiguration.minReplicasRange.upperBound))")
        }
        // The replica timeout only matters when publishes wait for replicas: a short --redis-timeout
        // alone must not make the (unused) default invalid.
        let timeouts = minReplicas == 0 ? 1...60_000 : RedisHAConfiguration.replicaTimeoutRange(redisTimeout: redisTimeout)
        guard timeouts.contains(replicaTimeoutMilliseconds) else {
            throw .invalidConfiguration("--redis-replica-timeout \(replicaTimeoutMilliseconds) is out of range (\(timeouts.lowerBound) to \(timeouts.upperBound)\(minReplicas == 0 ? "" : ": below --redis-timeout"))")
        }
        if backend != .redis, !sentinels.isEmpty || minReplicas > 0 {
            throw .invalidConfiguration("--redis-sentinels and --redis-min-replicas are for --backend redis")
        }
    }
}
