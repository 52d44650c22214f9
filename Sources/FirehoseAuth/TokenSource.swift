/// Where a request's token comes from. When several places carry one, the `Authorization` header
/// wins, then the `access_token` query parameter (the Firehose JS client's `params` option sends it
/// on every long-poll and in the WebSocket URL), then the configured cookie.
public enum TokenSource {
    /// - Parameters:
    ///   - authorization: the `Authorization` header value; only the `Bearer` scheme (any case,
    ///     RFC 6750 §2.1) carries a token, other schemes are passed over.
    ///   - accessToken: the `access_token` query parameter, already percent-decoded.
    ///   - cookieHeader: the `Cookie` header value (`a=b; c=d`).
    ///   - cookieName: the cookie that holds the token (`--jwt-cookie`); nil when none is configured.
    /// - Returns: the token text, or nil when no source carries a non-empty one.
    public static func select(authorization: String?, query accessToken: String?, cookieHeader: String?, cookieName: String?) -> String? {
        if let authorization, let token = bearer(authorization) { return token }
        if let accessToken, !accessToken.isEmpty { return accessToken }
        if let cookieHeader, let cookieName, let token = cookie(named: cookieName, in: cookieHeader) { return token }
        return nil
    }

    private static func bearer(_ header: String) -> String? {
        let value = Substring(header).trimmingSpaces()
        let scheme = value.prefix { $0 != " " && $0 != "\t" }
        guard scheme.lowercased() == "bearer" else { return nil }
        let token = value[scheme.endIndex...].trimmingSpaces()
        return token.isEmpty ? nil : String(token)
    }

    /// The first cookie called `name` (names compare exactly, as browsers send them); a value in
    /// double quotes loses its quotes (RFC 6265 §4.1.1).
    private static func cookie(named name: String, in header: String) -> String? {
        for pair in header.split(separator: ";") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            guard pair[..<equals].trimmingSpaces() == name else { continue }
            var value = pair[pair.index(after: equals)...].trimmingSpaces()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }
}
