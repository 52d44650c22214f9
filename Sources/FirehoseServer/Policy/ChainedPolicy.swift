/// Two policies that must both allow (a token, then the hook): the second is asked only once the
/// first has allowed, and the credentials then last until the earlier of their two expiries.
final class ChainedPolicy: AccessPolicy {
    let first: AccessPolicy
    let then: AccessPolicy

    init(first: AccessPolicy, then: AccessPolicy) {
        self.first = first
        self.then = then
    }

    var allowsEverything: Bool { first.allowsEverything && then.allowsEverything }

    func authorize(_ action: AccessAction, channel: String, credentials: Credentials,
                   completion: @escaping (AccessDecision) -> Void) {
        var firstUntil: Double?
        var firstDecision: AccessDecision?
        first.authorize(action, channel: channel, credentials: credentials) { firstDecision = $0 }
        // The token policy always answers at once; the credentials are valid only in this call.
        guard case let .allowed(until)? = firstDecision else {
            return completion(firstDecision ?? .denied(.unavailable("access policy did not answer")))
        }
        firstUntil = until
        then.authorize(action, channel: channel, credentials: credentials) { decision in
            guard case let .allowed(thenUntil) = decision else { return completion(decision) }
            let both = [firstUntil, thenUntil].compactMap { $0 }.min()
            completion(.allowed(until: both))
        }
    }
}
