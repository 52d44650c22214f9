/// Settings for running the server in production: the drain, the admin listener, port sharing.
/// Their defaults live here only.
public struct OperationsConfiguration: Sendable {
    /// Seconds the drain (SIGTERM/SIGINT) may take before the process exits with connections
    /// still open (`--drain-timeout`, `DRAIN_TIMEOUT`).
    public var drainTimeout: Double = 10
    /// Where the admin listener binds (`--admin-address HOST:PORT`); nil: no admin listener.
    public var adminHost: String?
    public var adminPort = 0
    /// Whether `/metrics@firehose` (the reference's JSON) is served publicly (`--public-metrics`).
    public var publicMetrics = true
    /// SO_REUSEPORT on the public listener, so several processes share one port (`--reuse-port`).
    public var reusePort = false

    public static let drainTimeoutRange: ClosedRange<Double> = 0...3600

    public init() {}

    /// Parses `HOST:PORT` (`[v6]:PORT` for IPv6) into `adminHost`/`adminPort`.
    public mutating func setAdminAddress(_ text: String) throws(ServerError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw .invalidConfiguration("--admin-address \(text) is not HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalidConfiguration("--admin-address \(text) has no host (HOST:PORT)") }
        adminHost = host
        adminPort = port
    }

    public func validate() throws(ServerError) {
        guard Self.drainTimeoutRange.contains(drainTimeout) else {
            throw .invalidConfiguration("--drain-timeout \(drainTimeout) is out of range (0 to 3600)")
        }
        if adminHost != nil, !(0...65535).contains(adminPort) {
            throw .invalidConfiguration("--admin-address port \(adminPort) is out of range (0 to 65535)")
        }
    }
}
