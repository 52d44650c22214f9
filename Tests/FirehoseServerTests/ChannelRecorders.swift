import FirehoseCore
@testable import FirehoseServer

// Test doubles for the channel seams (LocalChannelTests, ExpiryHeapTests): they only record what
// the real LocalChannel does to them.

/// Records every message; declines once it has `limit` of them (a long-poll has a limit of 1).
final class RecordingSubscriber: ChannelSubscriber {
    private let limit: Int?
    private(set) var received: [Message] = []
    /// Runs inside `receive`, after the message is recorded: to act during a delivery.
    var onReceive: ((Message) -> Void)?

    init(limit: Int? = nil) { self.limit = limit }

    var sequences: [Int] { received.map(\.sequence) }
    var bodies: [String] { received.map { String(decoding: $0.body, as: UTF8.self) } }

    func receive(_ message: Message) -> Bool {
        received.append(message)
        onReceive?(message)
        return limit.map { received.count < $0 } ?? true
    }
}

/// Records the channels the owner was asked to release.
final class RecordingOwner: LocalChannelOwner {
    var released: [String] = []
    func releaseIfDisposable(_ channel: LocalChannel) { released.append(channel.name) }
}
