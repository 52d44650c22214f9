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
        guard let sequence = Int(String(decoding: payload[(first + 1)..<second], as: UTF8.self)) else { return nil }
        return (String(decoding: payload[..<first], as: UTF8.self), sequence, Array(payload[(second + 1)...]))
    }

    /// Stores the next message atomically, with the effects of the reference's script: sequence + 1,
    /// `LPUSH` + `LTRIM` (or `DEL` for a size <= 0), `PUBLISH`, then `EXPIRE` both keys (or `PERSIST`).
    /// Arguments are passed as nine KEYS, in the reference's order.
    static let publishScript = Array("""
        local sequence = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
        redis.call('SET', KEYS[1], sequence)
        local size = tonumber(KEYS[6]) or 0
        if size > 0 then
          redis.call('LPUSH', KEYS[2], KEYS[5])
          redis.call('LTRIM', KEYS[2], 0, size - 1)
        else
          redis.call('DEL', KEYS[2])
        end
        redis.call('PUBLISH', KEYS[3], KEYS[9] .. KEYS[8] .. sequence .. KEYS[8] .. KEYS[5])
        if KEYS[7] == 'true' then
          redis.call('PERSIST', KEYS[1])
          redis.call('PERSIST', KEYS[2])
        else
          redis.call('EXPIRE', KEYS[1], KEYS[4])
          redis.call('EXPIRE', KEYS[2], KEYS[4])
        end
        return sequence
        """.utf8)

    /// The nine script arguments for one publish.
    static func publishKeys(channel: String, body: [UInt8], options: PublishOptions) -> [[UInt8]] {
        [sequence(channel), list(channel), updatesChannel, Array(String(options.ttl).utf8), body,
         Array(String(options.bufferSize).utf8), Array((options.persist ? "true" : "false").utf8), [10], Array(channel.utf8)]
    }
}
