/// What the admin listener asks a backend about channels (`/channels`). Answers may come at once
/// (memory) or after a Redis round trip; `nil` means the backend cannot answer now (503).
protocol ChannelAdministration: AnyObject {
    /// One channel's state, `.some(nil)` when it does not exist.
    func channelInfo(_ name: String, completion: @escaping (ChannelInfo??) -> Void)
    /// Drops the channel's data (the next publish gets sequence 1); true when it existed.
    func dropChannel(_ name: String, completion: @escaping (Bool?) -> Void)
    /// Up to `limit` channel names starting with `prefix`, sorted.
    func listChannels(prefix: String, limit: Int, completion: @escaping ([String]?) -> Void)
    /// Messages and body bytes held in this node's channel windows (a gauge).
    var bufferedTotals: (messages: Int, bytes: Int) { get }
    /// For Redis: whether both connections are up, and reconnections so far. `nil` for memory.
    var redisStatus: (connected: Bool, reconnects: Int)? { get }
}

struct ChannelInfo {
    let channel: String
    let sequence: Int
    let buffered: Int
    let bytes: Int
    /// Seconds until the data expire; nil when they persist.
    let ttl: Int?
    /// This node's live subscribers, by `SubscriberTransport`.
    let subscribers: [Int]
}

extension LocalChannel {
    /// The local part of a channel's info: its subscribers here.
    var localSubscribers: [Int] { subscriberCounts() }
}
