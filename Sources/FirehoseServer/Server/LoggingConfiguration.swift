/// Where and how the server logs (`--log-format`, `--access-log`, `--trusted-proxies`,
/// `--log-file`). Defaults live here only.
///
/// apple/swift-log is not used: nothing in the server or its dependencies logs through it, so it
/// would add a package and an existential handler per call for no capability the server needs;
/// the hand-written `Logger` keeps a disabled level at one inlined comparison. (Not measured.)
public struct LoggingConfiguration: Sendable {
    public var format: Logger.Format = .text
    /// One line per finished request, WebSocket session or SSE stream.
    public var accessLog = false
    /// Peers whose `X-Forwarded-For` is believed (addresses or CIDRs, IPv4 or IPv6).
    public var trustedProxies: [String] = []
    /// A file stderr is sent to (reopened on SIGHUP, for logrotate); nil: stderr as given.
    public var file: String?

    public init() {}

    public func validate() throws(ServerError) {
        for proxy in trustedProxies where AddressRange(proxy) == nil {
            throw .invalidConfiguration("--trusted-proxies \(proxy) is not an address or CIDR (e.g. 10.0.0.0/8, ::1)")
        }
    }
}
