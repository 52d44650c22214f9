internal import FirehoseCore

/// The admin listener's requests (`--admin-address`): `/health` (liveness), `/ready`
/// (readiness), `/metrics` (Prometheus text 0.0.4), and `/channels` (inspect, list, drop: see
/// spec/operations.md). Never on the public port: bind it to loopback or a private network.
/// Loop thread only.
final class AdminRouter: HTTPRequestRouting {
    private let context: ServerContext

    init(context: ServerContext) {
        self.context = context
    }

    /// `GET /channels` lists at most this many names unless `limit` says fewer.
    static let defaultListLimit = 100
    static let listLimitRange = 1...1000

    func route(_ request: HTTPRequest, on connection: HTTPConnection) {
        if request.isUpgrade { connection.closeAfterResponse() }
        let path = request.pathString
        switch (request.method, path) {
        case ("GET", "/health"), ("HEAD", "/health"):
            HealthCheck(context: context).live(on: connection, includeBody: request.method == "GET")
        case ("GET", "/ready"), ("HEAD", "/ready"):
            HealthCheck(context: context).ready(on: connection, includeBody: request.method == "GET")
        case ("GET", "/metrics"):
            connection.respond(.ok, headers: PrometheusExposition.contentType, body: PrometheusExposition.document(context))
        case ("GET", "/channels"):
            list(request, on: connection)
        case (_, _) where path.hasPrefix("/channels/"):
            let channel = String(path.dropFirst("/channels".count))
            switch request.method {
            case "GET": info(channel, on: connection)
            case "DELETE": drop(channel, on: connection)
            default: connection.respond(.methodNotAllowed, headers: [("Allow", "GET, DELETE")] + HTTPReplies.textPlain, body: Array("\(request.method) not supported.\n".utf8))
            }
        default:
            connection.respond(.notFound, headers: HTTPReplies.textPlain, body: Array("Not found: \(request.method) \(path)\n".utf8))
        }
    }

    private var administration: ChannelAdministration? { context.backend as? ChannelAdministration }

    private func info(_ channel: String, on connection: HTTPConnection) {
        guard let administration else { return unavailable(on: connection) }
        let pending = hold(connection)
        administration.channelInfo(channel) { [context] result in
            guard !pending.cancelled else { return }
            guard let result else { return AdminRouter.unavailable(on: connection, context: context) }
            guard let info = result else { return AdminRouter.notFound(channel, on: connection) }
            var writer = JSONWriter(capacity: 200)
            writer.raw("{\"channel\":")
            writer.string(info.channel)
            writer.raw(",\"sequence\":")
            writer.integer(info.sequence)
            writer.raw(",\"buffered\":")
            writer.integer(info.buffered)
            writer.raw(",\"bytes\":")
            writer.integer(info.bytes)
            writer.raw(",\"ttl\":")
            if let ttl = info.ttl { writer.integer(ttl) } else { writer.raw("null") }
            writer.raw(",\"subscribers\":{")
            for transport in SubscriberTransport.allCases where transport != .other {
                if transport.rawValue > 0 { writer.raw(",") }
                writer.string(transport.label)
                writer.raw(":")
                writer.integer(info.subscribers[transport.rawValue])
            }
            writer.raw("}}")
            connection.respond(.ok, headers: HealthCheck.json, body: writer.bytes)
        }
    }

    private func drop(_ channel: String, on connection: HTTPConnection) {
        guard let administration else { return unavailable(on: connection) }
        let pending = hold(connection)
        let context = self.context
        administration.dropChannel(channel) { existed in
            guard let existed else {
                guard !pending.cancelled else { return }
                return AdminRouter.unavailable(on: connection, context: context)
            }
            if existed { context.logger.info("admin: channel \(channel) dropped") }
            guard !pending.cancelled else { return }
            guard existed else { return AdminRouter.notFound(channel, on: connection) }
            var writer = JSONWriter(capacity: 64)
            writer.raw("{\"channel\":")
            writer.string(channel)
            writer.raw(",\"dropped\":true}")
            connection.respond(.ok, headers: HealthCheck.json, body: writer.bytes)
        }
    }

    private func list(_ request: HTTPRequest, on connection: HTTPConnection) {
        let prefix = QueryString.value(of: "prefix", in: request.query).map { String(decoding: $0, as: UTF8.self) } ?? "/"
        var limit = AdminRouter.defaultListLimit
        if let text = QueryString.value(of: "limit", in: request.query) {
            guard let value = Int(String(decoding: text, as: UTF8.self)), AdminRouter.listLimitRange.contains(value) else {
                connection.respond(.badRequest, headers: HTTPReplies.textPlain,
                                   body: Array("limit must be \(AdminRouter.listLimitRange.lowerBound) to \(AdminRouter.listLimitRange.upperBound)\n".utf8))
                return
            }
            limit = value
        }
        guard let administration else { return unavailable(on: connection) }
        let pending = hold(connection)
        administration.listChannels(prefix: prefix, limit: limit) { [context] names in
            guard !pending.cancelled else { return }
            guard let names else { return AdminRouter.unavailable(on: connection, context: context) }
            var writer = JSONWriter(capacity: 64 + names.count * 32)
            writer.raw("{\"prefix\":")
            writer.string(prefix)
            writer.raw(",\"limit\":")
            writer.integer(limit)
            writer.raw(",\"channels\":[")
            for (index, name) in names.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(name)
            }
            writer.raw("]}")
            connection.respond(.ok, headers: HealthCheck.json, body: writer.bytes)
        }
    }

    private func hold(_ connection: HTTPConnection) -> PendingCompletion {
        let pending = PendingCompletion()
        connection.hold(pending, timeout: nil)
        return pending
    }

    private func unavailable(on connection: HTTPConnection) {
        AdminRouter.unavailable(on: connection, context: context)
    }

    private static func unavailable(on connection: HTTPConnection, context: ServerContext) {
        connection.respond(.serviceUnavailable, headers: HealthCheck.json, body: Array("{\"error\":\"backend unavailable\"}".utf8))
    }

    private static func notFound(_ channel: String, on connection: HTTPConnection) {
        var writer = JSONWriter(capacity: 64)
        writer.raw("{\"error\":\"no such channel\",\"channel\":")
        writer.string(channel)
        writer.raw("}")
        connection.respond(.notFound, headers: HealthCheck.json, body: writer.bytes)
    }
}
