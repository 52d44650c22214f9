internal import FirehoseCore

/// The admin listener's requests (`--admin-address`): `/health` (liveness), `/ready`
/// (readiness), `/metrics` (Prometheus), and `/channels` (inspect, list, drop). Never on the
/// public port: bind it to loopback or a private network. Loop thread only.
final class AdminRouter: HTTPRequestRouting {
    private let context: ServerContext

    init(context: ServerContext) {
        self.context = context
    }

    func route(_ request: HTTPRequest, on connection: HTTPConnection) {
        if request.isUpgrade { connection.closeAfterResponse() }
        let path = request.pathString
        switch (request.method, path) {
        case ("GET", "/health"), ("HEAD", "/health"):
            HealthCheck(context: context).live(on: connection)
        case ("GET", "/ready"), ("HEAD", "/ready"):
            HealthCheck(context: context).ready(on: connection)
        default:
            connection.respond(.notFound, headers: HTTPReplies.textPlain, body: Array("Not found: \(request.method) \(path)\n".utf8))
        }
    }
}
