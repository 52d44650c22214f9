internal import FirehoseCore

/// Response pieces that several HTTP handlers share, each worded as the reference words it.
enum HTTPReplies {
    /// `Access-Control-Allow-Origin` echoing a non-empty `Origin`, on consumer responses only,
    /// when `--allowed-origins` allows that origin (any, by default).
    static func cors(_ request: HTTPRequest, _ auth: AuthConfiguration) -> [(String, String)] {
        guard let origin = request.value(.origin), !origin.isEmpty, auth.allows(origin: origin) else { return [] }
        return [("Access-Control-Allow-Origin", origin)]
    }

    static let negativeSequenceBody = Array("The last_message_sequence parameter may not be less than zero".utf8)

    /// The JSON error body the JS client parses from a 400.
    static func subscriptionFailed(_ reason: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + reason.utf8.count)
        writer.raw("{\"error\":\"Subscription failed\",\"reason\":")
        writer.string(reason)
        writer.raw("}")
        return writer.bytes
    }

    static let nothingToSubscribeReason = "No subscription data given - can't subscribe to nothing"

    /// Why a multiplexed request over `--max-channels-per-connection` is refused (spec LIM-1).
    static func tooManyChannelsReason(_ limit: Int) -> String {
        "Too many channels: at most \(limit) per request"
    }

    static let textPlain = [("Content-Type", "text/plain")]

    /// The channel a request names: its raw path, which must be UTF-8 to travel in JSON frames.
    static func channel(of request: HTTPRequest) -> String? {
        let path = request.path
        guard path.withContiguousStorageIfAvailable({ UTF8Validation.isValid(UnsafeRawBufferPointer($0)) }) ?? UTF8Validation.isValid(Array(path)) else {
            return nil
        }
        return String(decoding: path, as: UTF8.self)
    }

    static func invalidChannel(_ request: HTTPRequest, on connection: HTTPConnection, context: ServerContext) {
        context.logLimited(.info, "channel not UTF-8", "\(connection.peerDescription): \(request.method) to a channel path that is not UTF-8; 400")
        context.operations.rejected(.invalidChannel)
        connection.respond(.badRequest, headers: textPlain + cors(request, context.configuration.auth), body: Array("Channel names must be valid UTF-8.".utf8))
    }

    /// `405` naming the method, with `Allow: GET`, as the reference answers anything it does not serve.
    static func methodNotAllowed(_ request: HTTPRequest, on connection: HTTPConnection, context: ServerContext) {
        context.logger.debug("\(request.method) not supported on \(request.pathString)")
        context.operations.rejected(.methodNotAllowed)
        connection.respond(.methodNotAllowed, headers: [("Allow", "GET")], body: Array("\(request.method) not supported.".utf8))
    }

    /// The HTTP answer to a refusal of the access policy (RFC 6750 for bearer tokens): no detail
    /// that would help a forger; the reason, if any, went to the log.
    static func denied(_ denial: AccessDenial, request: HTTPRequest, on connection: HTTPConnection) {
        let cors = cors(request, connection.context.configuration.auth)
        switch denial {
        case .unauthenticated:
            connection.respond(.unauthorized, headers: [("WWW-Authenticate", "Bearer")] + cors)
        case .invalidCredentials:
            connection.respond(.unauthorized, headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")] + cors)
        case .forbidden:
            connection.respond(.forbidden, headers: cors)
        case let .unavailable(reason):
            connection.respond(.serviceUnavailable, headers: textPlain + cors, body: Array("\(reason)\n".utf8))
        }
    }
}

/// A pending response with nothing to clean up but a flag: a callback from the backend or the
/// policy checks it so that it never answers a connection that has gone.
final class PendingCompletion: PendingResponse {
    private(set) var cancelled = false
    func cancel() { cancelled = true }
    func timedOut() {}
}

extension HTTPConnection {
    /// Asks the access policy about `channels` for the request in flight, then runs `allowed` (at
    /// once for the default policy), or answers the refusal. The request is held while an
    /// asynchronous policy decides, and nothing runs if the client goes meanwhile.
    func authorize(_ action: AccessAction, channels: [String], request: HTTPRequest,
                   allowed: @escaping (_ until: Double?) -> Void) {
        let policy = context.policy
        if policy.allowsEverything { return allowed(nil) }
        let pending = PendingCompletion()
        hold(pending, timeout: nil)
        var answeredAtOnce = true
        var immediate: AccessDecision?
        policy.authorize(action, channels: channels, credentials: Credentials(request: request, connection: self)) { [self] decision in
            if answeredAtOnce {
                immediate = decision
                return
            }
            guard !pending.cancelled else { return }
            self.decided(decision, request: request, allowed: allowed)
        }
        answeredAtOnce = false
        if let immediate { decided(immediate, request: request, allowed: allowed) }
    }

    private func decided(_ decision: AccessDecision, request: HTTPRequest, allowed: (Double?) -> Void) {
        releaseHold()
        switch decision {
        case let .allowed(until):
            allowed(until)
        case let .denied(denial):
            context.logger.debug("\(peerDescription): \(request.method) \(request.pathString) refused by the access policy: \(denial)")
            context.record(.errors)
            context.operations.rejected(.denied)
            HTTPReplies.denied(denial, request: request, on: self)
        }
    }
}
