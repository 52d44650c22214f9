/// Channel administration for the memory backend: everything is local, answered at once.
extension MemoryBackend: ChannelAdministration {
    func channelInfo(_ name: String, completion: @escaping (ChannelInfo??) -> Void) {
        let now = EventLoop.now()
        guard let channel = channels[name] else { return completion(.some(nil)) }
        if let expiresAt = channel.expiresAt, expiresAt <= now { expire(channel, keep: true) }
        guard channel.sequence > 0 || channel.hasSubscribers else { return completion(.some(nil)) }
        let ttl = channel.expiresAt.map { max(0, Int(($0 - now).rounded(.up))) }
        completion(ChannelInfo(channel: name, sequence: channel.sequence, buffered: channel.buffer.count,
                               bytes: channel.bufferedBodyBytes, ttl: ttl, subscribers: channel.subscriberCounts()))
    }

    func dropChannel(_ name: String, completion: @escaping (Bool?) -> Void) {
        guard let channel = channels[name], channel.sequence > 0 || channel.hasSubscribers else { return completion(false) }
        channel.drop()
        expire(channel)
        completion(true)
    }

    func listChannels(prefix: String, limit: Int, completion: @escaping ([String]?) -> Void) {
        let now = EventLoop.now()
        var names: [String] = []
        for (name, channel) in channels where name.hasPrefix(prefix) {
            let live = channel.sequence > 0 && (channel.expiresAt.map { $0 > now } ?? true)
            if live || channel.hasSubscribers { names.append(name) }
        }
        names.sort()
        completion(Array(names.prefix(limit)))
    }

    var bufferedTotals: (messages: Int, bytes: Int) {
        var messages = 0, bytes = 0
        for channel in channels.values {
            messages += channel.buffer.count
            bytes += channel.bufferedBodyBytes
        }
        return (messages, bytes)
    }

    var redisStatus: (connected: Bool, reconnects: Int)? { nil }
}
