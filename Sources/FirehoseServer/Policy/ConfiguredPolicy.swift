internal import FirehoseCore

/// Builds the access policy the configuration asks for, and says in the start-up log what it
/// guards. With no key configured it is `AllowAllPolicy`: Firehose has no access control.
enum ConfiguredPolicy {
    static func make(_ configuration: AuthConfiguration, loop: EventLoop, logger: Logger) throws(ServerError) -> AccessPolicy {
        let tokens = configuration.usesTokens ? try TokenPolicy(configuration: configuration, logger: logger) : nil
        let hook = configuration.hookURL.flatMap(HookEndpoint.init(url:)).map {
            HookPolicy(endpoint: $0, configuration: configuration, loop: loop, logger: logger)
        }
        switch (tokens, hook) {
        case let (tokens?, hook?): return ChainedPolicy(first: tokens, then: hook)
        case let (tokens?, nil): return tokens
        case let (nil, hook?): return hook
        case (nil, nil): return AllowAllPolicy()
        }
    }

    /// One line for the log: whether access control is on and what it covers.
    static func summary(of policy: AccessPolicy, configuration: AuthConfiguration) -> String {
        guard configuration.isEnabled else { return "access control: off (anyone may publish and subscribe)" }
        let covered = switch configuration.effectiveScope {
        case .publish: "publishing (subscribing is open)"
        case .subscribe: "subscribing (publishing is open)"
        case .all: "publishing and subscribing"
        }
        var means: [String] = []
        if let tokens = (policy as? TokenPolicy) ?? ((policy as? ChainedPolicy)?.first as? TokenPolicy) {
            means.append("tokens: \(tokens.algorithms.joined(separator: ", "))")
        }
        if let hook = configuration.hookURL { means.append("hook: \(hook)") }
        return "access control: on for \(covered); \(means.joined(separator: "; "))"
    }

    /// Whether anyone who can reach the server may publish.
    static func publishingIsOpen(_ policy: AccessPolicy, configuration: AuthConfiguration) -> Bool {
        policy.allowsEverything || !configuration.effectiveScope.guardsPublish
    }

    /// Loopback addresses only: the one case where open publishing is not open to a network.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension FirehoseServer {
    /// Logs whether access control is on and what it covers and, when the server listens beyond
    /// loopback with publishing open, one warning.
    public func logAccessControl() {
        let auth = configuration.auth
        logger.info(ConfiguredPolicy.summary(of: context.policy, configuration: auth))
        if ConfiguredPolicy.publishingIsOpen(context.policy, configuration: auth), !ConfiguredPolicy.isLoopback(boundHost) {
            logger.warn("anyone who can reach \(boundHost):\(boundPort) may publish; give --jwt-secret or --jwt-public-key to require tokens")
        }
    }
}
