internal import FirehoseCore

/// `--redis-min-replicas`: a publish is answered 202 only once `WAIT` says that many replicas
/// hold it, so a failover to one of them cannot lose it.
///
/// `WAIT` covers every write the connection sent before it, and it blocks the connection while it
/// waits. One `WAIT` per publish would let a missing replica cost every queued publish the whole
/// replica timeout in turn (10 queued publishes, 500 ms each: 5 s, past the Redis timeout), so
/// publishes are confirmed in groups: a `WAIT` is pipelined right behind a publish script when
/// none is in flight, and the publishes sent while one is share the next. A publish then waits
/// for at most two `WAIT`s, and at most one `WAIT` at a time holds up the connection's other
/// commands (reads included), which is why the replica timeout must be below the Redis timeout.
/// Loop thread only.
final class RedisReplicaWait {
    private let commands: RedisConnection
    private let minReplicas: Int
    private let timeoutMilliseconds: Int
    /// Publishes sent since the last `WAIT` was: the next `WAIT` covers them.
    private var uncovered: [ReplicatedPublish] = []
    private var inFlight = false

    init(commands: RedisConnection, minReplicas: Int, timeoutMilliseconds: Int) {
        self.commands = commands
        self.minReplicas = minReplicas
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// Sends a publish through `send` (which reports the script's outcome to the returned
    /// publish) and pipelines a `WAIT` right behind it unless one is in flight already.
    func publish(completion: @escaping (PublishOutcome) -> Void, send: (ReplicatedPublish) -> Void) {
        let publish = ReplicatedPublish(completion: completion)
        uncovered.append(publish)
        send(publish)
        if !inFlight { sendWait() }
    }

    private func sendWait() {
        let group = uncovered
        uncovered = []
        inFlight = true
        let call = [Array("WAIT".utf8), Array(String(minReplicas).utf8), Array(String(timeoutMilliseconds).utf8)]
        commands.command(call) { [weak self] reply in
            guard let self else { return }
            self.inFlight = false
            // Redis answers in order: every script of the group has answered before its WAIT.
            let confirmed: Int? = if case let .integer(count)? = reply { count } else { nil }
            for publish in group {
                switch publish.outcome {
                case nil:
                    break  // sent again (NOSCRIPT): a later WAIT covers it
                case let .unavailable(reason)?:
                    publish.completion(.unavailable(reason: reason))
                case let .accepted(sequence, _)?:
                    if let confirmed, confirmed >= self.minReplicas {
                        publish.completion(.accepted(sequence: sequence))
                    } else {
                        publish.completion(.unavailable(reason: self.unconfirmed(sequence, confirmed: confirmed, reply: reply)))
                    }
                }
            }
            if !self.uncovered.isEmpty { self.sendWait() }
        }
    }
    /// The 503 text: the message is not taken back (Redis cannot), so it may still be delivered.
    private func unconfirmed(_ sequence: Int, confirmed: Int?, reply: RedisReply?) -> String {
        let how = if let confirmed {
            "\(confirmed) of the \(minReplicas) replicas required confirmed it within \(timeoutMilliseconds) ms"
        } else if case let .error(message)? = reply {
            "Redis refused WAIT (\(message))"
        } else {
            "the connection to Redis was lost before replicas confirmed it"
        }
        return "The message is stored on the Redis master as sequence \(sequence) but unconfirmed: \(how). "
            + "It may still be delivered (Redis cannot take it back), and a failover may lose it; only a 202 is a promise."
    }
}

/// One publish awaiting its script's answer and then its `WAIT`.
final class ReplicatedPublish {
    let completion: (PublishOutcome) -> Void
    /// What the script answered: `.accepted` still needs the replicas; `nil`: not yet, or sent again.
    var outcome: PublishOutcome?

    init(completion: @escaping (PublishOutcome) -> Void) { self.completion = completion }
}
