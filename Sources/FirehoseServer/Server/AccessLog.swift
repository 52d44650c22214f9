/// One access-log line per finished request, WebSocket session or SSE stream (`--access-log`):
/// client address, method, path (no query: it may carry tokens), status, bytes sent, duration,
/// transport. Nothing is gathered per request unless it is on. Loop thread only.
final class AccessLog {
    private let logger: Logger
    private let clients: ClientAddress

    init(logger: Logger, configuration: LoggingConfiguration) {
        self.logger = logger
        clients = ClientAddress(trusted: configuration.trustedProxies.compactMap { AddressRange($0) })
    }

    /// What is known of a request when it arrives.
    struct Entry {
        let client: String
        let method: String
        let path: String
        let started: Double

        /// The same request, answered by another kind of connection (a WebSocket after its upgrade).
        var transport = "http"
    }

    func begin(_ request: HTTPRequest, peerHost: String) -> Entry {
        Entry(client: clients.resolve(peer: peerHost, forwardedFor: request.value(.xForwardedFor)),
              method: request.method, path: request.pathString, started: DurationHistogram.now())
    }

    func finish(_ entry: Entry, status: Int, bytes: Int, transport: String) {
        let duration = DurationHistogram.now() - entry.started
        logger.write(.info, "access", fields: [
            ("client", .string(entry.client)), ("method", .string(entry.method)), ("path", .string(entry.path)),
            ("status", .number(Double(status))), ("bytes", .number(Double(bytes))),
            ("duration", .number(duration)), ("transport", .string(transport)),
        ])
    }
}
