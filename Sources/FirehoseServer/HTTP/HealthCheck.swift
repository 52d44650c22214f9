internal import FirehoseCore

/// Liveness and readiness, as JSON: `{"status":"ok",...}` with 200, or 503 with the reason
/// (`draining`, `backend down`). Served publicly at `/health@firehose` (readiness) and on the admin
/// listener at `/health` (liveness: the loop answers) and `/ready` (readiness). Loop thread only.
struct HealthCheck {
    unowned let context: ServerContext

    /// 200 while this node can take subscribers and publishes; 503 while draining or while the
    /// backend cannot deliver (for Redis a real round trip). `extra` adds fields to the JSON.
    func ready(on connection: HTTPConnection, includeBody: Bool = true) {
        if context.draining {
            connection.respond(.serviceUnavailable, headers: includeBody ? HealthCheck.json : [], body: includeBody ? body("draining", reason: "draining") : [])
            return
        }
        let pending = PendingCompletion()
        connection.hold(pending, timeout: nil)
        let context = self.context
        context.backend.ping { healthy in
            guard !pending.cancelled else { return }
            // The drain may have begun while Redis answered.
            if context.draining {
                connection.respond(.serviceUnavailable, headers: includeBody ? HealthCheck.json : [], body: includeBody ? body("draining", reason: "draining") : [])
            } else if healthy {
                connection.respond(.ok, headers: includeBody ? HealthCheck.json : [], body: includeBody ? body("ok", reason: nil) : [])
            } else {
                connection.respond(.serviceUnavailable, headers: includeBody ? HealthCheck.json : [], body: includeBody ? body("unavailable", reason: "backend down") : [])
            }
        }
    }

    /// 200 whenever the loop answers (even while draining: the process is alive and finishing).
    func live(on connection: HTTPConnection, includeBody: Bool = true) {
        connection.respond(.ok, headers: includeBody ? HealthCheck.json : [],
                           body: includeBody ? body(context.draining ? "draining" : "ok", reason: nil) : [])
    }

    static let json = [("Content-Type", "application/json")]

    private func body(_ status: String, reason: String?) -> [UInt8] {
        var writer = JSONWriter(capacity: 160)
        writer.raw("{\"status\":")
        writer.string(status)
        if let reason {
            writer.raw(",\"reason\":")
            writer.string(reason)
        }
        writer.raw(",\"backend\":")
        writer.string(context.backend.name)
        writer.raw(",\"draining\":")
        writer.raw(context.draining ? "true" : "false")
        writer.raw(",\"connections\":")
        writer.integer(context.openConnections)
        writer.raw(",\"websockets\":")
        writer.integer(context.openWebSockets)
        writer.raw(",\"channels\":")
        writer.integer(context.backend.channelCount)
        writer.raw("}")
        return writer.bytes
    }
}
