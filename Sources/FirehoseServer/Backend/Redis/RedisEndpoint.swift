/// Where Redis is, from `redis://[[user]:password@]host[:port][/db]` (the `REDIS_URL` form).
public struct RedisEndpoint: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var password: String?
    /// The ACL user (`redis://user:password@...`, Redis 6+); `nil` authenticates as `default`.
    public var user: String?

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, password: String? = nil, user: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.password = password
        self.user = user
    }

    /// The user named in logs: the ACL user, or Redis's `default` one.
    public var userDescription: String { user ?? "default" }

    public init?(url: String) {
        guard url.hasPrefix("redis://") else { return nil }
        var rest = Substring(url.dropFirst("redis://".count))
        self.init()
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            let colon = credentials.firstIndex(of: ":")
            let secret = colon.map { credentials[credentials.index(after: $0)...] } ?? credentials
            password = secret.isEmpty ? nil : String(secret)
            if let colon, colon > credentials.startIndex { user = String(credentials[..<colon]) }
            rest = rest[rest.index(after: at)...]
        }
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let database = Int(path), database >= 0 else { return nil }
                self.database = database
            }
            rest = rest[..<slash]
        }
        if let colon = rest.lastIndex(of: ":") {
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            self.port = port
            rest = rest[..<colon]
        }
        if !rest.isEmpty { host = String(rest) }
    }

    /// The URL without the password, for logs.
    public var description: String { "redis://\(host):\(port)/\(database)" }
}
