internal import FirehoseCore

/// One Server-Sent Events stream: its subscriptions (one channel, or several multiplexed) and the
/// `ResponseStream` it writes events to. Every missed message still buffered is replayed, then
/// each new one live (the WebSocket rule). Loop thread only.
final class SSESession: ChannelSubscriber, ResponseStreamDelegate, Expiring {
    private unowned(unsafe) let context: ServerContext
    private var stream: ResponseStream?
    /// Multiplexed: each channel's position, in the order of the URL's list (the event id).
    private var positions: [(channel: String, sequence: Int)]?
    private var subscriptions: [SubscriptionHandle] = []
    /// When the request's token expires (spec/auth.md): the stream ends then.
    private(set) var expiresAt = Double.infinity
    var expiryIndex = -1

    init(context: ServerContext, multiplexed: Bool) {
        self.context = context
        positions = multiplexed ? [] : nil
    }

    /// Starts writing: the reconnection delay, then the catch-up of every channel.
    func start(on stream: ResponseStream, channels: [(String, Int)]) {
        self.stream = stream
        guard stream.write(SSEFormats.retry(milliseconds: context.configuration.sseRetryMilliseconds)) else { return }
        if positions != nil { positions = channels.map { (channel: $0.0, sequence: $0.1) } }
        for (channel, lastSequence) in channels {
            guard self.stream != nil else { return }
            if let handle = context.backend.subscribe(channel: channel, lastSequence: lastSequence, subscriber: self) {
                if self.stream == nil { handle.cancel() } else { subscriptions.append(handle) }
            }
        }
    }

    var transport: SubscriberTransport { .sse }

    func receive(_ message: Message) -> Bool {
        guard let stream else { return false }
        guard positions != nil else {
            return stream.write(message.encoded(as: SSEFormats.event))
        }
        if let index = positions!.firstIndex(where: { $0.channel == message.channel }) {
            positions![index].sequence = message.sequence
        }
        let frame = message.encoded(as: FirehoseFrame.multiplexed)
        let prefix = SSEFormats.idPrefix + SSEPosition.encode(positions!) + [SSEFormats.newline] + SSEFormats.dataPrefix + frame.head
        return stream.write(prefix: prefix, frame.body, suffix: Array(frame.tail) + SSEFormats.eventEnd)
    }

    func streamIdle() {
        stream?.write(SSEFormats.heartbeat)
    }

    /// Ends the stream at `time` (Unix seconds), when the token that allowed it expires.
    func expire(at time: Double) {
        guard stream != nil else { return }
        expiresAt = time
        context.credentialExpiry.add(self)
    }

    /// `finish` does not call the delegate back, so the subscriptions are let go here first.
    func expired() {
        guard let stream else { return }
        context.logger.debug("event stream token expired; ending the stream")
        streamClosed()
        stream.finish()
    }

    func streamClosed() {
        context.credentialExpiry.remove(self)
        stream = nil
        let held = subscriptions
        subscriptions = []
        for handle in held { handle.cancel() }
    }
}
