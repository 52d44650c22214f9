internal import FirehoseCore

/// The answer to a CORS preflight (`OPTIONS` with `Origin`), given once access control or an
/// origin list is configured (spec/auth.md) so that a browser script may send `Authorization`
/// cross-origin. Without either, `OPTIONS` stays the reference's 405.
enum CORSPreflight {
    /// What a browser may send: the bearer token, the publisher's option headers, and the
    /// event-stream resume header.
    static let allowedHeaders = "Authorization, Content-Type, Cache-Control, X-Firehose-Buffer-Size, X-Firehose-Persist, Last-Event-ID"
    static let allowedMethods = "GET, PUT, POST, OPTIONS"
    /// Browsers cache a preflight for at most 2 h (Chromium) and 24 h (Firefox); 10 minutes keeps
    /// a changed origin list effective soon.
    static let maxAge = "600"

    static func answer(_ request: HTTPRequest, on connection: HTTPConnection, auth: AuthConfiguration) {
        guard let origin = request.value(.origin), !origin.isEmpty, auth.allows(origin: origin) else {
            connection.context.logger.debug("\(connection.peerDescription): preflight from an origin not allowed; 403")
            connection.respond(.forbidden)
            return
        }
        var headers = [("Access-Control-Allow-Origin", origin),
                       ("Access-Control-Allow-Methods", allowedMethods),
                       ("Access-Control-Allow-Headers", allowedHeaders),
                       ("Access-Control-Max-Age", maxAge),
                       ("Vary", "Origin")]
        // Credentials (the token cookie) only for origins named one by one: with `*`, any site
        // could otherwise read answers made with the user's cookie.
        if !auth.allowsAnyOrigin { headers.append(("Access-Control-Allow-Credentials", "true")) }
        connection.respond(.noContent, headers: headers)
    }
}
