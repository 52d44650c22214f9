internal import FirehoseAuth

/// Bearer tokens (JWT, `spec/auth.md`): the request's token, from the header, the `access_token`
/// query parameter or the configured cookie, must verify with a configured key, and its grants
/// must cover the channel for the action. Decides at once, on the loop thread.
///
/// Verification is paid once per request or connection: a multiplexed request names many
/// channels with one token, and a WebSocket judges its later `multiplex_subscribe`s with the token
/// of its upgrade, so the last token that verified is remembered with its grants, and a repeat of
/// the same string costs a string comparison instead of a verification (measured in a release
/// build by VerificationCostTests: HS256 15 µs, RS256 35 µs, ES256 94 µs per token).
/// Only successes are remembered, and their expiry is checked again on every use.
final class TokenPolicy: AccessPolicy {
    private let verifier: JWTVerifier
    private let cookieName: String?
    private let scope: AuthConfiguration.Scope
    private let logger: Logger
    private var remembered: (token: String, grants: TokenGrants)?

    /// - Throws: `ServerError.invalidConfiguration` with the key problem in words.
    init(configuration: AuthConfiguration, logger: Logger) throws(ServerError) {
        let keys: JWTKeys
        do {
            keys = try JWTKeys(hmacSecret: configuration.jwtSecret, publicKeysPEM: configuration.jwtPublicKeysPEM)
        } catch {
            throw .invalidConfiguration(error.description)
        }
        verifier = JWTVerifier(keys: keys, audience: configuration.audience, issuer: configuration.issuer, leeway: configuration.leeway)
        cookieName = configuration.cookieName
        scope = configuration.effectiveScope
        self.logger = logger
    }

    /// The algorithms tokens may use, for the start-up line.
    var algorithms: [String] { verifier.keys.algorithms }

    var allowsEverything: Bool { false }

    func authorize(_ action: AccessAction, channel: String, credentials: Credentials,
                   completion: @escaping (AccessDecision) -> Void) {
        completion(decide(action, channel: channel, credentials: credentials))
    }

    private func decide(_ action: AccessAction, channel: String, credentials: Credentials) -> AccessDecision {
        let guarded = action == .publish ? scope.guardsPublish : scope.guardsSubscribe
        guard guarded else { return .allowed(until: nil) }
        guard let token = TokenSource.select(authorization: credentials.authorization, query: credentials.accessToken,
                                             cookieHeader: cookieName == nil ? nil : credentials.cookie,
                                             cookieName: cookieName) else {
            return .denied(.unauthenticated)
        }
        let now = Double(EventLoop.unixTime())
        let grants: TokenGrants
        if let remembered, remembered.token == token {
            if let expiry = remembered.grants.expiresAt, now > expiry + verifier.leeway {
                logger.debug("\(credentials.peer): token refused: \(TokenError.expired)")
                return .denied(.invalidCredentials)
            }
            grants = remembered.grants
        } else {
            switch verifier.verify(token, now: now) {
            case let .success(verified):
                grants = verified
                remembered = (token, verified)
            case let .failure(error):
                logger.debug("\(credentials.peer): token refused: \(error)")
                return .denied(.invalidCredentials)
            }
        }
        let authAction: FirehoseAuth.AccessAction = action == .publish ? .publish : .subscribe
        guard grants.allows(authAction, channel: channel) else { return .denied(.forbidden) }
        return .allowed(until: grants.expiresAt.map { $0 + verifier.leeway })
    }
}
