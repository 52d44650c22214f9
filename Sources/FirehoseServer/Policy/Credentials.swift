internal import FirehoseCore

/// What a request presents to the access policy: the HTTP request that carried it (a publish, a
/// long-poll, or a WebSocket upgrade, whose credentials then cover the socket's later
/// subscriptions) and the connection it came on. Reading a header costs nothing until a policy
/// asks, so the default policy adds no work per request.
struct Credentials {
    let request: HTTPRequest
    unowned let connection: SocketConnection

    var authorization: String? { request.value(.authorization) }
    var cookie: String? { request.value(.cookie) }
    var origin: String? { request.value(.origin) }

    /// The `access_token` query parameter, percent-decoded (the Firehose JS client's `params`).
    var accessToken: String? {
        QueryString.value(of: "access_token", in: request.query).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The client's address as the socket sees it.
    var peer: String { connection.peerDescription }
}
