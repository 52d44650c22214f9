internal import CLibevent
internal import FirehoseCore

/// Where the authorization hook lives: `http://host[:port]/path` (plain HTTP, as a sidecar or an
/// application on the same network is reached).
struct HookEndpoint: Sendable {
    let host: String
    let port: UInt16
    let path: String

    init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst(7)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host = Substring(authority), port: UInt16 = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let parsed = UInt16(authority[authority.index(after: colon)...]) else { return nil }
            host = authority[..<colon]
            port = parsed
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        self.host = String(host)
        self.port = port
        self.path = path.isEmpty ? "/" : String(path)
    }
}

/// The authorization hook (`--auth-url`, spec/auth.md): for each guarded publish and subscription
/// the server POSTs `{"action","channel","method","path","client"}` to the hook with the request's
/// `Cookie`, `Authorization` and `Origin` as they came. 2xx allows, 401 and 403 pass through,
/// anything else or no answer within `--auth-timeout` is 503. The call is libevent's HTTP client
/// on the server's own loop, one hook connection per question, so a slow hook delays only the
/// requests waiting for it. Decisions are cached per (credentials, channel, action) for
/// `--auth-cache-ttl` seconds. Loop thread only.
final class HookPolicy: AccessPolicy {
    private let endpoint: HookEndpoint
    private let scope: AuthConfiguration.Scope
    private let timeout: Double
    private let cacheTTL: Double
    private let loop: EventLoop
    private let logger: Logger
    private var cache: [String: (decision: AccessDecision, until: Double)] = [:]
    /// Bounds the cache: past this many entries the expired ones are dropped, and if none were,
    /// all are (10,000 short strings: about 2 MB).
    private static let cacheLimit = 10_000

    init(endpoint: HookEndpoint, configuration: AuthConfiguration, loop: EventLoop, logger: Logger) {
        self.endpoint = endpoint
        scope = configuration.effectiveScope
        timeout = configuration.hookTimeout
        cacheTTL = configuration.hookCacheTTL
        self.loop = loop
        self.logger = logger
    }

    var allowsEverything: Bool { false }

    func authorize(_ action: AccessAction, channel: String, credentials: Credentials,
                   completion: @escaping (AccessDecision) -> Void) {
        let guarded = action == .publish ? scope.guardsPublish : scope.guardsSubscribe
        guard guarded else { return completion(.allowed(until: nil)) }
        let authorization = credentials.authorization, cookie = credentials.cookie, origin = credentials.origin
        let actionName = action == .publish ? "publish" : "subscribe"
        var cacheKey: String?
        if cacheTTL > 0 {
            let key = "\(actionName)\u{0}\(channel)\u{0}\(authorization ?? "")\u{0}\(cookie ?? "")\u{0}\(credentials.accessToken ?? "")"
            let now = EventLoop.now()
            if let hit = cache[key], hit.until > now { return completion(hit.decision) }
            cacheKey = key
        }
        var body = JSONWriter(capacity: 128 + channel.utf8.count)
        body.raw("{\"action\":")
        body.string(actionName)
        body.raw(",\"channel\":")
        body.string(channel)
        body.raw(",\"method\":")
        body.string(credentials.request.method)
        body.raw(",\"path\":")
        body.string(String(decoding: credentials.request.target, as: UTF8.self))
        body.raw(",\"client\":")
        body.string(Self.address(of: credentials.peer))
        body.raw("}")
        var headers = [("Content-Type", "application/json")]
        if let cookie { headers.append(("Cookie", cookie)) }
        if let authorization { headers.append(("Authorization", authorization)) }
        if let origin { headers.append(("Origin", origin)) }
        HookCall.start(endpoint: endpoint, loop: loop, timeout: timeout, headers: headers, body: body.bytes) { [self] status in
            let decision: AccessDecision = switch status {
            case 200..<300: .allowed(until: nil)
            case 401: .denied(.unauthenticated)
            case 403: .denied(.forbidden)
            case 0: .denied(.unavailable("The authorization hook did not answer."))
            default: .denied(.unavailable("The authorization hook failed."))
            }
            if case .denied(.unavailable) = decision {
                warn("authorization hook \(endpoint.host):\(endpoint.port)\(endpoint.path): \(status == 0 ? "no answer within \(timeout) s" : "HTTP \(status)"); answering 503")
            } else if let cacheKey {
                remember(cacheKey, decision)  // allow and deny alike; a failure is asked again
            }
            completion(decision)
        }
    }

    private var lastWarning = -Double.infinity
    private var suppressedWarnings = 0

    /// At most one line a second, however many requests the failing hook fails.
    private func warn(_ line: String) {
        let now = EventLoop.now()
        guard now - lastWarning >= 1 else {
            suppressedWarnings += 1
            return
        }
        lastWarning = now
        let suppressed = suppressedWarnings
        suppressedWarnings = 0
        logger.warn(suppressed > 0 ? "\(line) (and \(suppressed) more failures)" : line)
    }

    private func remember(_ key: String, _ decision: AccessDecision) {
        let now = EventLoop.now()
        if cache.count >= Self.cacheLimit {
            cache = cache.filter { $0.value.until > now }
            if cache.count >= Self.cacheLimit { cache.removeAll() }
        }
        cache[key] = (decision, now + cacheTTL)
    }

    /// The address without its port: `203.0.113.7:5123` gives `203.0.113.7`, `[::1]:80` gives `::1`.
    static func address(of peer: String) -> String {
        var host = Substring(peer)
        if let colon = host.lastIndex(of: ":") { host = host[..<colon] }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return String(host)
    }
}

/// One POST to the hook over its own libevent HTTP connection, freed once answered.
private final class HookCall {
    private let completion: (Int) -> Void
    private var connection: OpaquePointer?
    private let base: OpaquePointer

    private init(base: OpaquePointer, completion: @escaping (Int) -> Void) {
        self.base = base
        self.completion = completion
    }

    /// `completion` gets the hook's HTTP status, or 0 when there was no answer (refused, timed
    /// out, malformed). It runs on the loop: later, or at once when the call cannot even start.
    static func start(endpoint: HookEndpoint, loop: EventLoop, timeout: Double, headers: [(String, String)],
                      body: [UInt8], completion: @escaping (Int) -> Void) {
        let call = HookCall(base: loop.base.raw, completion: completion)
        let me = Unmanaged.passRetained(call).toOpaque()
        guard let connection = evhttp_connection_base_new(loop.base.raw, nil, endpoint.host, endpoint.port) else {
            call.finish(status: 0, me: me)
            return
        }
        call.connection = connection
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        evhttp_connection_set_timeout_tv(connection, &limit)
        evhttp_connection_set_retries(connection, 0)
        guard let request = evhttp_request_new({ request, context in
            let status = request.map { Int(evhttp_request_get_response_code($0)) } ?? 0
            Unmanaged<HookCall>.fromOpaque(context!).takeUnretainedValue().finish(status: status, me: context!)
        }, me) else {
            call.finish(status: 0, me: me)
            return
        }
        let output = evhttp_request_get_output_headers(request)
        evhttp_add_header(output, "Host", endpoint.port == 80 ? endpoint.host : "\(endpoint.host):\(endpoint.port)")
        evhttp_add_header(output, "Connection", "close")
        for (name, value) in headers { evhttp_add_header(output, name, value) }
        body.withUnsafeBytes { _ = evbuffer_add(evhttp_request_get_output_buffer(request), $0.baseAddress, $0.count) }
        // On failure libevent frees the request; `call` is still held here, and `finish` answers once.
        if evhttp_make_request(connection, request, EVHTTP_REQ_POST, endpoint.path) != 0 {
            call.finish(status: 0, me: me)
        }
    }

    private var finished = false

    /// Answers once, then frees the connection on a later loop turn: libevent is still using it
    /// while it calls back.
    private func finish(status: Int, me: UnsafeMutableRawPointer) {
        guard !finished else { return }
        finished = true
        if let connection {
            var now = timeval()
            event_base_once(base, -1, Int16(EV_TIMEOUT), { _, _, connection in
                evhttp_connection_free(OpaquePointer(connection))
            }, UnsafeMutableRawPointer(connection), &now)
        }
        connection = nil
        let completion = self.completion
        Unmanaged<HookCall>.fromOpaque(me).release()
        completion(status)
    }
}
