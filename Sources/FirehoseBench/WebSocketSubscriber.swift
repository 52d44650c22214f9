/// A WebSocket subscriber: upgrade, subscribe (Firehose sends its position as a message; Nchan
/// takes it in the URL), then read frames, answering pings.
final class WebSocketSubscriber: Subscriber {
    private var upgraded = false
    private var head = HTTPResponseReader()
    private var frames = WebSocketFrameReader()
    private var fragments: [UInt8] = []

    override func reset() {
        upgraded = false
        head = HTTPResponseReader()
        frames = WebSocketFrameReader()
        fragments = []
    }

    override func socketConnected(_ socket: ClientSocket) {
        socket.send(target.webSocketUpgrade(channel: channel, from: point))
    }

    override func socket(_ socket: ClientSocket, received bytes: UnsafeRawBufferPointer, at now: UInt64) {
        if !upgraded {
            head.append(bytes)
            let response: HTTPResponse?
            do { response = try head.next() } catch { return fail("bad upgrade response: \(error)") }
            guard let response else { return }
            guard response.status == 101 else { return fail("upgrade answered \(response.status)") }
            upgraded = true
            head.inbox.withBytes { frames.append($0) }
            head.inbox.removeAll()
            if let subscribe = target.webSocketSubscribe(from: point) { socket.send(subscribe) }
            host.subscriberEstablished(self)
            guard self.socket === socket else { return }
        } else {
            frames.append(bytes)
        }
        while self.socket === socket {
            let frame: WebSocketServerFrame?
            do { frame = try frames.next() } catch { return fail("bad frame: \(error)") }
            guard let frame else { return }
            switch frame.opcode {
            case 0x0, 0x1, 0x2:
                if !frame.fin || !fragments.isEmpty {
                    fragments += frame.payload
                    guard frame.fin else { continue }
                    let whole = fragments
                    fragments = []
                    deliver(whole, at: now)
                } else {
                    deliver(frame.payload, at: now)
                }
            case 0x8:
                socket.send(WebSocketClientFrame.encode(opcode: WebSocketClientFrame.close, payload: Array(frame.payload.prefix(2))))
                socket.close(abort: false)
                self.socket = nil
                host.subscriberClosed(self, error: 0, reason: "close frame from server")
                return
            case 0x9:
                socket.send(WebSocketClientFrame.encode(opcode: WebSocketClientFrame.pong, payload: frame.payload))
            default:
                break
            }
        }
    }

    private func deliver(_ payload: [UInt8], at now: UInt64) {
        payload.withUnsafeBytes { bytes in
            let bodyStart = target.advance(&point, afterFrame: bytes)
            ledger.deliver(subscriber: index, body: UnsafeRawBufferPointer(rebasing: bytes[bodyStart...]), at: now)
        }
    }
}
