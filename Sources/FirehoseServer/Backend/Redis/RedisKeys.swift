internal import FirehoseCore

/// The Redis layout Ruby Firehose uses, so both servers can share one Redis during a migration:
/// `firehose:<channel>:sequence` (a counter), `firehose:<channel>:list` (newest first), and every
/// publish announced on `firehose:channel_updates` as `<channel>\n<sequence>\n<body>`.
enum RedisKeys {
    static let updatesChannel = Array("firehose:channel_updates".utf8)

    static func sequence(_ channel: String) -> [UInt8] { Array("firehose:\(channel):sequence".utf8) }
    static func list(_ channel: String) -> [UInt8] { Array("firehose:\(channel):list".utf8) }

    /// Splits a pub/sub payload on its first two newlines (the body may contain more).
    static func parseUpdate(_ payload: [UInt8]) -> (channel: String, sequence: Int, body: [UInt8])? {
        guard let first = payload.firstIndex(of: 10) else { return nil }
        guard let second = payload[(first + 1)...].firstIndex(of: 10) else { return nil }
        guard let sequence = Int(String(decoding: payload[(first + 1)..<second], as: UTF8.self)), sequence > 0 else { return nil }
        return (String(decoding: payload[..<first], as: UTF8.self), sequence, Array(payload[(second + 1)...]))
    }

    /// Stores the next message atomically, with the effects of the reference's script: sequence + 1,
    /// `LPUSH` + `LTRIM` (or `DEL` for a size <= 0), `PUBLISH`, then `EXPIRE` both keys (or `PERSIST`).
    /// The two keys are KEYS and the rest ARGV (the reference passes all nine as KEYS), so that an
    /// ACL user restricted to `~firehose:*` may run it: Redis checks every KEYS entry as a key.
    static let publishScript = Array("""
        local sequence = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
        redis.call('SET', KEYS[1], sequence)
        local size = tonumber(ARGV[4]) or 0
        if size > 0 then
          redis.call('LPUSH', KEYS[2], ARGV[3])
          redis.call('LTRIM', KEYS[2], 0, size - 1)
        else
          redis.call('DEL', KEYS[2])
        end
        redis.call('PUBLISH', ARGV[1], ARGV[7] .. ARGV[6] .. sequence .. ARGV[6] .. ARGV[3])
        if ARGV[5] == 'true' then
          redis.call('PERSIST', KEYS[1])
          redis.call('PERSIST', KEYS[2])
        else
          redis.call('EXPIRE', KEYS[1], ARGV[2])
          redis.call('EXPIRE', KEYS[2], ARGV[2])
        end
        return sequence
        """.utf8)

    /// One atomic catch-up read: the sequence (as stored, parsed by the caller) and only as many of
    /// the newest bodies as the readers can be given, so its cost follows how far behind they are,
    /// not the list's length (one 100 KB body for a long-poll one behind on a 1,000-message list,
    /// instead of 100 MB). ARGV holds the readers' last sequences; for each, the most `ReplayWindow`
    /// could give it: 1 for the latest or an underwater reader, the missed ones for a reader behind,
    /// the whole list for one ahead (a reset), and the newest one for one level (nothing to give it,
    /// but a node compares it with its own copy: the store may have been replaced under the same
    /// sequence, `LocalChannel.forkPoint`). ARGV[1] = "all" reads the whole list.
    /// Past 2^53 Lua's numbers lose precision, so the whole list is read there too.
    static let readScript = Array("""
        local stored = redis.call('GET', KEYS[1])
        local sequence = tonumber(stored or '0') or 0
        local length = redis.call('LLEN', KEYS[2])
        local count = 0
        if ARGV[1] == 'all' or sequence >= 9007199254740992 then
          count = length
        else
          for i = 1, #ARGV do
            local last = tonumber(ARGV[i]) or 0
            local need = 0
            if last <= 0 or last == sequence then need = 1
            elseif last > sequence then need = length
            elseif last < sequence then
              need = sequence - last
              if need > length then need = 1 end
            end
            if need > count then count = need end
          end
          if count > length then count = length end
        end
        local bodies = {}
        if count > 0 then bodies = redis.call('LRANGE', KEYS[2], 0, count - 1) end
        return {stored or '0', bodies}
        """.utf8)

    /// The script's numkeys, KEYS and ARGV for one publish.
    static func publishKeys(channel: String, body: [UInt8], options: PublishOptions) -> [[UInt8]] {
        [Array("2".utf8), sequence(channel), list(channel), updatesChannel, Array(String(options.ttl).utf8), body,
         Array(String(options.bufferSize).utf8), Array((options.persist ? "true" : "false").utf8), [10], Array(channel.utf8)]
    }
}
