internal import FirehoseCore

/// `PUT /<channel>`: stores the body as the channel's next message and answers 202 once the
/// backend has stored it (503 if it cannot), if the access policy allows it. Bodies must be
/// UTF-8: they are sent inside JSON.
struct PublishHandler {
    unowned(unsafe) let context: ServerContext

    /// The 202 of a keep-alive publish, encoded once.
    static let acceptedKeepAlive = SharedBytes(ResponseHead(status: .accepted, contentLength: 0, headers: HTTPReplies.textPlain, keepAlive: true).encoded())

    func handle(_ request: HTTPRequest, on connection: HTTPConnection) {
        connection.prioritizeReads()
        guard let channel = HTTPReplies.channel(of: request) else {
            HTTPReplies.invalidChannel(request, on: connection, context: context)
            return
        }
        guard UTF8Validation.isValid(request.body) else {
            context.logLimited(.info, "publish not UTF-8", "\(connection.peerDescription): PUT \(channel) refused: body is not valid UTF-8")
            context.record(.errors)
            connection.respond(.badRequest, headers: HTTPReplies.textPlain,
                               body: Array("The message body is not valid UTF-8. Firehose messages are UTF-8 text.".utf8))
            return
        }
        let configuration = context.configuration
        // Most publishes carry none of the option headers; looking up all four by name cost about
        // 650 instructions of every publish (callgrind).
        let options = request.headers.contains(where: { Self.isOption($0.0) })
            ? PublishOptions(header: { name in HTTPRequest.Header.named(name.utf8).flatMap { request.value($0) } },
                             defaultBufferSize: configuration.defaultBufferSize)
            : PublishOptions(bufferSize: configuration.defaultBufferSize)
        if let reason = options.outOfRange(bufferSizeLimit: configuration.maxBufferSize) {
            // Refused before the backend sees it: a value Redis would reject mid-script would
            // otherwise leave the message stored, announced and without expiry behind a 503.
            context.logger.info("\(connection.peerDescription): PUT \(channel) refused: \(reason)")
            context.record(.errors)
            connection.respond(.badRequest, headers: HTTPReplies.textPlain, body: Array("\(reason)\n".utf8))
            return
        }
        if options.deprecated {
            context.logLimited(.info, "deprecated publish", "deprecated publish to \(channel) (X-Firehose-Deprecated: true)")
        }
        // The default policy is checked inline: no closure is formed for it on this hot path.
        if context.policy.allowsEverything {
            publish(channel: channel, body: request.body, options: options, on: connection)
        } else {
            connection.authorize(.publish, channels: [channel], request: request) { _ in
                self.publish(channel: channel, body: request.body, options: options, on: connection)
            }
        }
    }

    /// The headers `PublishOptions` reads, as the parser keeps them.
    private static let optionHeaders = PublishOptions.headerNames.compactMap { HTTPRequest.Header.named($0.utf8) }

    private static func isOption(_ header: HTTPRequest.Header) -> Bool {
        optionHeaders.contains(header)
    }

    private func publish(channel: String, body: [UInt8], options: PublishOptions, on connection: HTTPConnection) {
        let pending = PendingCompletion()
        connection.hold(pending, timeout: nil)
        let context = self.context
        let size = body.count
        let started = DurationHistogram.now()
        // The connection is held strongly until the backend answers; `pending` says whether it is
        // still waiting for this answer. (A weak reference would give every connection a side
        // table, and all its reference counting the slow path.)
        context.backend.publish(channel: channel, body: body, options: options) { outcome in
            context.operations.publishDuration.observe(DurationHistogram.now() - started)
            switch outcome {
            case let .accepted(sequence, delivered):
                context.recordPublish(channel: channel, size: size)
                context.logger.debug("published \(channel) #\(sequence) (\(size) bytes)")
                guard !pending.cancelled else { return }
                if delivered {
                    context.publishAcks.accept(connection, pending)
                } else {
                    PublishAcks.answer(connection)
                }
            case let .unavailable(reason):
                context.logLimited(.warn, "publish failed", "publish to \(channel) failed: \(reason)")
                context.record(.errors)
                context.operations.publishErrors += 1
                guard !pending.cancelled else { return }
                connection.respond(.serviceUnavailable, headers: HTTPReplies.textPlain, body: Array("\(reason)\n".utf8))
            }
        }
    }
}
