import ArgumentParser
import FirehoseServer

/// Flags for running in production: the drain, the admin listener, port sharing. Each has an
/// environment twin; the flag wins. Defaults come from `OperationsConfiguration`.
struct OperationsOptions: ParsableArguments {
    private static let defaults = OperationsConfiguration()

    @Option(name: .long, help: ArgumentHelp("Seconds SIGTERM/SIGINT may spend draining (held long-polls get 204, WebSockets close 1001) before exiting; a second signal exits at once; 0 to 3600. (env: DRAIN_TIMEOUT; default: \(defaults.drainTimeout))", valueName: "seconds"))
    var drainTimeout: Double?

    @Option(name: .long, help: ArgumentHelp("Serve /metrics (Prometheus), /health, /ready and /channels on a second listener at HOST:PORT; keep it private (e.g. 127.0.0.1:7475). Off unless given. (env: ADMIN_ADDRESS)", valueName: "host:port"))
    var adminAddress: String?

    @Option(name: .long, help: ArgumentHelp("on or off: whether /metrics@firehose (the reference's JSON) is served on the public port. (env: PUBLIC_METRICS; default: on)", valueName: "on|off"))
    var publicMetrics: String?

    @Flag(name: .long, help: ArgumentHelp("Set SO_REUSEPORT on the public port so several processes (one per core, sharing one Redis) listen on it; the kernel spreads connections. (env: REUSE_PORT=1)"))
    var reusePort = false

    func apply(to configuration: inout ServerConfiguration) throws {
        var operations = configuration.operations
        operations.drainTimeout = try drainTimeout ?? Environment.double("DRAIN_TIMEOUT") ?? operations.drainTimeout
        if let address = adminAddress ?? Environment.string("ADMIN_ADDRESS") {
            try operations.setAdminAddress(address)
        }
        if let text = publicMetrics ?? Environment.string("PUBLIC_METRICS") {
            guard let on = OperationsOptions.onOff(text) else {
                throw ValidationError("--public-metrics \(text) is not on or off")
            }
            operations.publicMetrics = on
        }
        if reusePort {
            operations.reusePort = true
        } else if let text = Environment.string("REUSE_PORT") {
            guard let on = OperationsOptions.onOff(text) else { throw ValidationError("REUSE_PORT=\(text) is not on or off") }
            operations.reusePort = on
        }
        configuration.operations = operations
    }

    static func onOff(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "on", "1", "true", "yes": true
        case "off", "0", "false", "no": false
        default: nil
        }
    }
}
