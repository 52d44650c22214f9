/// What a client wants to do with a channel.
enum AccessAction: Sendable {
    case publish
    case subscribe
}

/// Why a client may not do what it asked; each transport turns it into its own answer (HTTP
/// status, WebSocket frame or close code), as `spec/` says.
enum AccessDenial: Equatable, Sendable {
    /// No credentials were presented where some are required (HTTP 401, no error code).
    case unauthenticated
    /// The credentials are invalid, expired or not yet valid (HTTP 401, `invalid_token`).
    case invalidCredentials
    /// Valid credentials that do not cover this channel (HTTP 403).
    case forbidden
    /// The policy could not decide now (HTTP 503 with the reason).
    case unavailable(String)
}

enum AccessDecision: Equatable, Sendable {
    /// Allowed; `until` (Unix seconds) is when the credentials stop being valid, if they expire.
    case allowed(until: Double?)
    case denied(AccessDenial)
}

/// The one policy hook consulted for every publish and every subscription, whatever the transport
/// (Firehose's `MessageFilter` idea, Nchan's `nchan_authorize_request`): transports ask it, it
/// knows no transport. Called on the loop thread; it may answer at once or later on the loop (a
/// remote hook), and transports accept both. The cost is paid once per request or subscription,
/// never per delivered message.
protocol AccessPolicy: AnyObject {
    /// True when every request is allowed: transports then skip the call (and its closure)
    /// entirely, so the default costs nothing on the long-poll hot path.
    var allowsEverything: Bool { get }

    /// Decides whether `credentials` may do `action` on `channel`. `credentials` is valid only
    /// during this call: copy what an asynchronous decision needs.
    func authorize(_ action: AccessAction, channel: String, credentials: Credentials,
                   completion: @escaping (AccessDecision) -> Void)
}

/// The default: Firehose has no access control, so unmodified clients keep working.
final class AllowAllPolicy: AccessPolicy {
    var allowsEverything: Bool { true }

    func authorize(_ action: AccessAction, channel: String, credentials: Credentials,
                   completion: @escaping (AccessDecision) -> Void) {
        completion(.allowed(until: nil))
    }
}

extension AccessPolicy {
    /// Decides for several channels at once (a multiplexed request): allowed only if every channel
    /// is, and then until the earliest expiry; otherwise the first denial in the list's order.
    func authorize(_ action: AccessAction, channels: [String], credentials: Credentials,
                   completion: @escaping (AccessDecision) -> Void) {
        if allowsEverything || channels.isEmpty {
            completion(.allowed(until: nil))
            return
        }
        let tally = DecisionTally(count: channels.count, completion: completion)
        for (index, channel) in channels.enumerated() {
            authorize(action, channel: channel, credentials: credentials) { decision in tally.record(decision, at: index) }
        }
    }
}

/// Collects one decision per channel and answers once, when all are in.
private final class DecisionTally {
    private var decisions: [AccessDecision?]
    private var remaining: Int
    private var completion: ((AccessDecision) -> Void)?

    init(count: Int, completion: @escaping (AccessDecision) -> Void) {
        decisions = Array(repeating: nil, count: count)
        remaining = count
        self.completion = completion
    }

    func record(_ decision: AccessDecision, at index: Int) {
        guard decisions[index] == nil else { return }
        decisions[index] = decision
        remaining -= 1
        guard remaining == 0, let completion else { return }
        self.completion = nil
        var until: Double?
        for decision in decisions {
            switch decision {
            case let .denied(denial)?:
                return completion(.denied(denial))
            case let .allowed(expiry)?:
                if let expiry { until = min(until ?? expiry, expiry) }
            case nil:
                break
            }
        }
        completion(.allowed(until: until))
    }
}
