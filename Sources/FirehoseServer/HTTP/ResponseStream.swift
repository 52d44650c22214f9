internal import FirehoseCore

/// What the producer of a streamed response hears from it.
protocol ResponseStreamDelegate: AnyObject {
    /// Nothing was written for the stream's idle interval: time for a heartbeat, if the format has one.
    func streamIdle()
    /// The stream is over (the client went, it was cut off for not reading, or the server closed
    /// it): stop producing and let go of everything.
    func streamClosed()
}

/// One response of unknown length on an `HTTPConnection` (see `HTTPConnection.startStream`): each
/// `write` goes out at once (chunk-framed for HTTP/1.1), shared bytes by reference, with the same
/// outgoing limit as any subscriber connection: a client that lets more than `maxQueuedBytes` pile
/// up is cut off rather than buffered for. A stream transport (SSE) is a session over this; it
/// owns its own framing inside the stream. Loop thread only.
final class ResponseStream: PendingResponse {
    private var connection: HTTPConnection?
    let chunked: Bool
    private unowned let idleQueue: DeadlineQueue
    private let maxQueuedBytes: Int
    private var delegate: ResponseStreamDelegate?

    init(connection: HTTPConnection, chunked: Bool, idleQueue: DeadlineQueue, maxQueuedBytes: Int, delegate: ResponseStreamDelegate) {
        self.connection = connection
        self.chunked = chunked
        self.idleQueue = idleQueue
        self.maxQueuedBytes = maxQueuedBytes
        self.delegate = delegate
    }

    var isOpen: Bool { connection?.isOpen ?? false }

    /// Bytes written to the stream and not yet taken by the client.
    var queuedBytes: Int { connection?.queuedBytes ?? 0 }

    /// Writes `bytes` as one piece of the stream. Returns false when the stream is over (and then
    /// the delegate has heard `streamClosed`).
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return isOpen }
        return write(prefix: bytes, nil, suffix: [])
    }

    /// Writes a message's encoding (head, shared body, tail) as one piece of the stream.
    @discardableResult
    func write(_ message: EncodedMessage) -> Bool {
        write(prefix: message.head, message.body, suffix: message.tail)
    }

    /// Writes `prefix`, `shared` (by reference) and `suffix` as one piece of the stream.
    @discardableResult
    func write(prefix: [UInt8], _ shared: SharedBytes?, suffix: [UInt8]) -> Bool {
        prefix.withUnsafeBytes { prefix in suffix.withUnsafeBytes { write(prefix: prefix, shared, suffix: $0) } }
    }

    private func write(prefix: UnsafeRawBufferPointer, _ shared: SharedBytes?, suffix: UnsafeRawBufferPointer) -> Bool {
        guard let connection, let bev = connection.bev else { return false }
        let queued = connection.queuedBytes
        if queued > maxQueuedBytes {
            // What was queued before this piece counts, so one piece larger than the limit still
            // goes out to a client that reads.
            connection.context.logLimited(.warn, "stream client not reading", "\(connection.peerDescription): stream client is not reading (\(queued) bytes queued); disconnecting")
            connection.context.record(.errors)
            connection.context.operations.slowConsumersDisconnected += 1
            connection.close()  // cancels this stream: the delegate hears streamClosed
            return false
        }
        let length = prefix.count + (shared?.count ?? 0) + suffix.count
        var head = chunked ? ResponseStream.chunkHeader(length) : []
        connection.streamedBytes += length
        head += prefix
        let tail = chunked ? Array(suffix) + ResponseStream.crlf : Array(suffix)
        if let shared {
            head.withUnsafeBytes { head in
                tail.withUnsafeBytes { tail in OutputBuffer.write(prefix: head, shared, suffix: tail, to: bev) }
            }
        } else {
            OutputBuffer.write(head + tail, to: bev)
        }
        idleQueue.schedule(connection)
        return true
    }

    /// Ends the stream from our side: the terminating chunk, then the connection closes once the
    /// client has everything. The delegate is not called back.
    func finish() {
        guard let connection else { return }
        delegate = nil
        if chunked, let bev = connection.bev { OutputBuffer.write(ResponseStream.lastChunk, to: bev) }
        self.connection = nil
        connection.endStream()
    }

    // MARK: PendingResponse

    /// Draining: the stream ends cleanly (the terminating chunk) and its producer lets go.
    func serverDraining() {
        let delegate = self.delegate
        finish()
        delegate?.streamClosed()
    }

    func cancel() {
        connection = nil
        let delegate = self.delegate
        self.delegate = nil
        delegate?.streamClosed()
    }

    func timedOut() {
        guard let connection else { return }
        idleQueue.schedule(connection)
        delegate?.streamIdle()
    }

    private static let crlf: [UInt8] = [13, 10]
    private static let lastChunk = Array("0\r\n\r\n".utf8)

    static func chunkHeader(_ length: Int) -> [UInt8] {
        Array(String(length, radix: 16).utf8) + crlf
    }
}
