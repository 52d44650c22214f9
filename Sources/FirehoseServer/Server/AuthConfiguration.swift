/// Access control settings (`spec/auth.md`). With nothing configured the server is open, as
/// Firehose is, and unmodified clients see no change.
public struct AuthConfiguration: Sendable {
    /// What needs credentials.
    public enum Scope: String, Sendable, CaseIterable {
        case publish
        case subscribe
        case all

        var guardsPublish: Bool { self != .subscribe }
        var guardsSubscribe: Bool { self != .publish }
    }

    /// `--jwt-secret`: enables HS256 (at least 32 bytes).
    public var jwtSecret: [UInt8]?
    /// The text of each `--jwt-public-key` file (PEM): enables RS256 and/or ES256.
    public var jwtPublicKeysPEM: [String] = []
    /// `--jwt-audience`: tokens must name it in `aud`.
    public var audience: String?
    /// `--jwt-issuer`: tokens must carry it as `iss`.
    public var issuer: String?
    /// `--jwt-leeway`: seconds of clock skew allowed on `exp` and `nbf`.
    public var leeway: Double = 0
    /// `--jwt-cookie`: the cookie that may carry the token (none by default).
    public var cookieName: String?
    /// `--auth`: what needs a token; nil means `publish` once a key is configured.
    public var scope: Scope?
    /// `--allowed-origins`: the browser origins that get CORS headers and may open WebSockets;
    /// `["*"]` (the default, Firehose's behaviour) allows any.
    public var allowedOrigins: [String] = ["*"]
    /// `--auth-url`: an HTTP authorization hook asked about each publish and subscription.
    public var hookURL: String?
    /// `--auth-timeout`: seconds the hook may take before the client gets 503.
    public var hookTimeout: Double = 5
    /// `--auth-cache-ttl`: seconds a hook decision is reused; 0 asks every time.
    public var hookCacheTTL: Double = 0

    public init() {}

    /// Whether any origin is allowed (the default).
    public var allowsAnyOrigin: Bool { allowedOrigins.contains("*") }

    /// Whether `origin` (an `Origin` header value) is allowed: origins compare exactly, ignoring
    /// ASCII case (scheme and host are case-insensitive; browsers send them in lower case).
    func allows(origin: String) -> Bool {
        allowsAnyOrigin || allowedOrigins.contains { $0.lowercased() == origin.lowercased() }
    }

    /// Whether `OPTIONS` preflights are answered: only once something differs from Firehose
    /// (a key or an origin list), so that by default `OPTIONS` stays the reference's 405.
    var answersPreflight: Bool { isEnabled || !allowsAnyOrigin }

    /// Whether anything (a key or a hook) guards the server.
    public var isEnabled: Bool { usesTokens || hookURL != nil }

    /// Whether any key is configured, i.e. whether a token policy guards the server.
    public var usesTokens: Bool { jwtSecret != nil || !jwtPublicKeysPEM.isEmpty }

    /// What is guarded when anything is.
    public var effectiveScope: Scope { scope ?? .publish }

    /// Leeway beyond a minute hides real clock faults rather than absorbing skew; a day is the
    /// hard bound so that a typo (seconds for milliseconds) cannot disable expiry.
    static let leewayRange: ClosedRange<Double> = 0...86_400

    public func validate() throws(ServerError) {
        guard Self.leewayRange.contains(leeway) else {
            throw .invalidConfiguration("--jwt-leeway \(leeway) is out of range (0 to 86400)")
        }
        if scope != nil, !isEnabled {
            throw .invalidConfiguration("--auth \(scope!.rawValue) needs a key or a hook: give --jwt-secret, --jwt-public-key or --auth-url")
        }
        if let hookURL, HookEndpoint(url: hookURL) == nil {
            throw .invalidConfiguration("--auth-url \(hookURL) is not an http://host[:port]/path URL")
        }
        guard (0.1...60).contains(hookTimeout) else {
            throw .invalidConfiguration("--auth-timeout \(hookTimeout) is out of range (0.1 to 60)")
        }
        guard (0...86_400).contains(hookCacheTTL) else {
            throw .invalidConfiguration("--auth-cache-ttl \(hookCacheTTL) is out of range (0 to 86400)")
        }
        for origin in allowedOrigins where origin != "*" {
            guard origin.hasPrefix("http://") || origin.hasPrefix("https://"), !origin.dropFirst(8).contains("/") else {
                throw .invalidConfiguration("--allowed-origins '\(origin)' is not an origin (scheme://host[:port], or *)")
            }
        }
        if let cookieName, cookieName.isEmpty || cookieName.contains(where: { $0 == ";" || $0 == "=" || $0 == " " }) {
            throw .invalidConfiguration("--jwt-cookie '\(cookieName)' is not a cookie name")
        }
    }
}
