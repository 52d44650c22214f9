/// A Server-Sent Events subscriber: one `GET` with `Accept: text/event-stream` held open, each event
/// one delivery. It resumes as a browser's `EventSource` does, sending the last event id back in
/// `Last-Event-ID` (Firehose: the sequence; Nchan: its `<time>:<tag>` id).
final class EventSourceSubscriber: Subscriber {
    private var reader = EventStreamReader()

    override func reset() { reader = EventStreamReader() }

    override func socketConnected(_ socket: ClientSocket) {
        socket.send(target.eventStreamRequest(channel: channel, from: point))
    }

    override func socket(_ socket: ClientSocket, received bytes: UnsafeRawBufferPointer, at now: UInt64) {
        reader.append(bytes)
        while self.socket === socket {
            let item: EventStreamItem?
            do { item = try reader.next() } catch { return fail("bad event stream: \(error)") }
            guard let item else { return }
            switch item {
            case .opened:
                host.subscriberEstablished(self)
            case let .event(event):
                target.advance(&point, afterEvent: event)
                event.data.withUnsafeBytes { ledger.deliver(subscriber: index, body: $0, at: now) }
            case .retry, .comment:
                break  // the reconnection delay is the scenario's to decide; heartbeats carry nothing
            }
        }
    }
}
