/// Channel administration for the Redis backend: the channel's state comes from Redis (what every
/// node shares), its subscribers from this node. Loop thread only.
extension RedisBackend: ChannelAdministration {
    /// One atomic read: the sequence, the list's length and body bytes, the TTL, and whether any
    /// key exists.
    private static let infoScript = Array("""
        local sequence = tonumber(redis.call('GET', KEYS[1]) or '0')
        local items = redis.call('LRANGE', KEYS[2], 0, -1)
        local bytes = 0
        for _, item in ipairs(items) do bytes = bytes + string.len(item) end
        return {sequence, #items, bytes, redis.call('TTL', KEYS[1]), redis.call('EXISTS', KEYS[1], KEYS[2])}
        """.utf8)

    func channelInfo(_ name: String, completion: @escaping (ChannelInfo??) -> Void) {
        let local = channels[name]?.subscriberCounts()
        commands.command([Array("EVAL".utf8), Self.infoScript, Array("2".utf8), RedisKeys.sequence(name), RedisKeys.list(name)]) { reply in
            guard case let .array(parts)? = reply, parts.count == 5,
                  let sequence = parts[0].integerValue, let buffered = parts[1].integerValue,
                  let bytes = parts[2].integerValue, let ttl = parts[3].integerValue, let exists = parts[4].integerValue else {
                return completion(nil)
            }
            guard exists > 0 || local.map({ $0.contains { $0 > 0 } }) == true else { return completion(.some(nil)) }
            completion(ChannelInfo(channel: name, sequence: sequence, buffered: buffered, bytes: bytes,
                                   ttl: ttl >= 0 ? ttl : nil,
                                   subscribers: local ?? [Int](repeating: 0, count: SubscriberTransport.allCases.count)))
        }
    }

    func dropChannel(_ name: String, completion: @escaping (Bool?) -> Void) {
        commands.command([Array("DEL".utf8), RedisKeys.sequence(name), RedisKeys.list(name)]) { [weak self] reply in
            guard let deleted = reply?.integerValue else { return completion(nil) }
            let local = self?.channels[name]
            local?.drop()
            completion(deleted > 0 || local?.hasSubscribers == true)
        }
    }

    /// SCAN for `firehose:<prefix>*:sequence`, at most `maxScanSteps` steps of 1000 keys: a
    /// bounded cost on a large Redis, so a listing may be partial there (it says so in the log).
    func listChannels(prefix: String, limit: Int, completion: @escaping ([String]?) -> Void) {
        let pattern = "firehose:" + Self.globEscaped(prefix) + "*:sequence"
        scan(cursor: "0", pattern: Array(pattern.utf8), found: [], steps: 0, limit: limit, completion: completion)
    }

    private static let maxScanSteps = 100

    private func scan(cursor: String, pattern: [UInt8], found: [String], steps: Int, limit: Int,
                      completion: @escaping ([String]?) -> Void) {
        commands.command([Array("SCAN".utf8), Array(cursor.utf8), Array("MATCH".utf8), pattern,
                          Array("COUNT".utf8), Array("1000".utf8)]) { [weak self] reply in
            guard let self, case let .array(parts)? = reply, parts.count == 2,
                  case let .string(next) = parts[0], case let .array(keys) = parts[1] else { return completion(nil) }
            var found = found
            for key in keys {
                guard case let .string(bytes) = key else { continue }
                let text = String(decoding: bytes, as: UTF8.self)
                found.append(String(text.dropFirst("firehose:".count).dropLast(":sequence".count)))
            }
            let nextCursor = String(decoding: next, as: UTF8.self)
            if nextCursor == "0" || found.count >= limit || steps + 1 >= Self.maxScanSteps {
                completion(Array(Set(found).sorted().prefix(limit)))
            } else {
                self.scan(cursor: nextCursor, pattern: pattern, found: found, steps: steps + 1, limit: limit, completion: completion)
            }
        }
    }

    private static func globEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "*?[]\\".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    var bufferedTotals: (messages: Int, bytes: Int) {
        var messages = 0, bytes = 0
        for channel in channels.values {
            messages += channel.buffer.count
            bytes += channel.bufferedBodyBytes
        }
        return (messages, bytes)
    }

    var redisStatus: (connected: Bool, reconnects: Int)? {
        (commands.isConnected && pubsub.isConnected && pubsubReady, commands.reconnects + pubsub.reconnects)
    }
}
