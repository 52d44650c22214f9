internal import FirehoseCore

/// Single-channel long-poll: `GET /<channel>?last_message_sequence=N` answers with one message
/// (see `ReplayWindow`) or waits for the next publish, then 204 at the long-poll timeout.
struct LongPollTransport {
    unowned(unsafe) let context: ServerContext

    func handle(_ request: HTTPRequest, on connection: HTTPConnection) {
        guard let channel = HTTPReplies.channel(of: request) else {
            HTTPReplies.invalidChannel(request, on: connection, context: context)
            return
        }
        let cors = HTTPReplies.cors(request, context.configuration.auth)
        let lastSequence = QueryString.value(of: "last_message_sequence", in: request.query).map { LenientInteger.parse($0) } ?? 0
        guard lastSequence >= 0 else {
            connection.respond(.badRequest, headers: cors, body: HTTPReplies.negativeSequenceBody)
            return
        }
        context.record(.subscribed, channel: channel)
        // The default policy is checked inline: a re-poll per delivery forms no closure for it.
        if context.policy.allowsEverything {
            wait(on: channel, after: lastSequence, cors: cors, connection: connection)
        } else {
            connection.authorize(.subscribe, channels: [channel], request: request) { _ in
                self.wait(on: channel, after: lastSequence, cors: cors, connection: connection)
            }
        }
    }

    private func wait(on channel: String, after lastSequence: Int, cors: [(String, String)], connection: HTTPConnection) {
        let poll = LongPollRequest(connection: connection, context: context, cors: cors)
        connection.hold(poll, timeout: context.longPollQueue)
        poll.subscribe([(channel, lastSequence)], multiplexed: false)
    }
}
