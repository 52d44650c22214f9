import ArgumentParser
import FirehoseServer

private let defaults = RedisHAConfiguration()

/// Redis high availability: Sentinel, and publishes confirmed by replicas (`WAIT`).
struct RedisHAOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Find the Redis master through these Redis Sentinels (\(RedisHAConfiguration.sentinelCountRange.lowerBound) to \(RedisHAConfiguration.sentinelCountRange.upperBound), asked in turn; reached without a password) and follow its failovers; the host and port of --redis-url are then unused, its password, user and database apply to the master. Needs --redis-master. (env: REDIS_SENTINELS; default: off)", valueName: "host:port,..."))
    var redisSentinels: String?

    @Option(name: .long, help: ArgumentHelp("The master's name in the sentinels' configuration; needs --redis-sentinels. (env: REDIS_MASTER)", valueName: "name"))
    var redisMaster: String?

    @Option(name: .long, help: ArgumentHelp("Replicas that must hold a message (Redis WAIT) before its publish is answered 202; if fewer confirm in time the answer is 503: stored on the master but unconfirmed, it may still be delivered. \(RedisHAConfiguration.minReplicasRange.lowerBound) to \(RedisHAConfiguration.minReplicasRange.upperBound). (env: REDIS_MIN_REPLICAS; default: \(defaults.minReplicas): off)", valueName: "count"))
    var redisMinReplicas: Int?

    @Option(name: .long, help: ArgumentHelp("Milliseconds a publish waits for --redis-min-replicas replicas; 1 to below --redis-timeout (at most 60000). (env: REDIS_REPLICA_TIMEOUT_MS; default: \(defaults.replicaTimeoutMilliseconds))", valueName: "ms"))
    var redisReplicaTimeout: Int?

    func apply(to configuration: inout ServerConfiguration) throws {
        if let list = redisSentinels ?? Environment.string("REDIS_SENTINELS") {
            guard let sentinels = RedisSentinelAddress.list(list) else {
                throw ValidationError("--redis-sentinels \(list) is not a list of host:port (port 1 to 65535)")
            }
            configuration.redisHA.sentinels = sentinels
        }
        configuration.redisHA.masterName = redisMaster ?? Environment.string("REDIS_MASTER") ?? configuration.redisHA.masterName
        configuration.redisHA.minReplicas = try redisMinReplicas ?? Environment.integer("REDIS_MIN_REPLICAS") ?? configuration.redisHA.minReplicas
        configuration.redisHA.replicaTimeoutMilliseconds = try redisReplicaTimeout ?? Environment.integer("REDIS_REPLICA_TIMEOUT_MS") ?? configuration.redisHA.replicaTimeoutMilliseconds
    }
}
