/// A long-poll subscriber: one request waiting at a time on a keep-alive connection, re-polling at
/// once from the position the last answer gave (Firehose's sequence, Nchan's Last-Modified/Etag).
final class LongPollSubscriber: Subscriber {
    private var reader = HTTPResponseReader()
    private lazy var firehosePrefix = target.firehosePollPrefix(channel: channel)

    override func reset() { reader = HTTPResponseReader() }

    override func socketConnected(_ socket: ClientSocket) {
        poll()
        host.subscriberEstablished(self)
    }

    private func poll() {
        if target.proto == .firehose {
            socket?.send(target.firehosePoll(prefix: firehosePrefix, sequence: point.sequence))
        } else {
            socket?.send(target.longPollRequest(channel: channel, from: point))
        }
    }

    override func socket(_ socket: ClientSocket, received bytes: UnsafeRawBufferPointer, at now: UInt64) {
        reader.append(bytes)
        while self.socket === socket {
            let response: HTTPResponse?
            do { response = try reader.next() } catch { return fail("bad response: \(error)") }
            guard let response else { return }
            switch response.status {
            case 200:
                response.body.withUnsafeBytes { ledger.deliver(subscriber: index, body: $0, at: now) }
                target.advance(&point, after: response)
            case 204, 304, 408:
                break  // the long-poll timed out (Firehose 204, Nchan 304/408): ask again
            default:
                return fail("long-poll answered \(response.status)")
            }
            guard response.keepAlive else {
                socket.close(abort: false)
                self.socket = nil
                start()
                return
            }
            poll()
        }
    }
}
