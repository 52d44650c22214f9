/// libFuzzer target: the multiplexed subscription parsers (query, POST body, WebSocket
/// commands). Whatever the bytes: no trap, no repeated channel, never more than the limit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultiplexSubscription(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for limit in [2, 1000] {
        if let list = try? MultiplexSubscription.parseQuery(bytes, limit: limit) { check(list, limit: limit) }
        if let list = try? MultiplexSubscription.parseBody(bytes, limit: limit) { check(list, limit: limit) }
    }
    _ = WebSocketProtocol.multiplexCommand(bytes, binary: false)
    _ = WebSocketProtocol.channelCommand(bytes, binary: false)
    return 0
}

private func check(_ list: [MultiplexSubscription], limit: Int) {
    precondition(!list.isEmpty && list.count <= limit, "\(list.count) subscriptions for a limit of \(limit)")
    precondition(Set(list.map(\.channel)).count == list.count, "a channel is listed twice")
}
