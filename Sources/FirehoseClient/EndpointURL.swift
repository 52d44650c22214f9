/// An `http://host[:port]/path[?query]` URL, split without Foundation.
public struct EndpointURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// The path and query, as sent on the request line.
    public var target: String

    public init(host: String, port: Int, target: String) {
        self.host = host
        self.port = port
        self.target = target
    }

    public init?(_ text: String) {
        var rest = Substring(text)
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) } else if rest.contains("://") { return nil }
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<slash]
        var path = String(rest[slash...])
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { guard let value = Int(after.dropFirst()) else { return nil }; port = value }
            authority = authority[authority.index(after: authority.startIndex)..<close]
        } else if let colon = authority.lastIndex(of: ":") {
            guard let value = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = value
            authority = authority[..<colon]
        }
        guard !authority.isEmpty, (0...65535).contains(port) else { return nil }
        self.init(host: String(authority), port: port, target: path)
    }

    /// The target without its query string: a Firehose channel name.
    public var path: String {
        String(target.prefix { $0 != "?" })
    }
}
