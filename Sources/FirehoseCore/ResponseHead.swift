/// The head of an HTTP response, framed byte for byte as the Ruby server (under Thin) frames it:
/// `HTTP/1.1` status line, `Content-Length`, the handler's headers in order, `Connection`, then
/// `Server: thin`. No `Date`. Clients and proxies that captured the reference's bytes see the same.
public struct ResponseHead {
    public var status: HTTPStatus
    /// `nil` for a streamed response (chunked, or close-delimited): no `Content-Length` line.
    public var contentLength: Int?
    public var headers: [(String, String)]
    public var keepAlive: Bool

    public init(status: HTTPStatus, contentLength: Int?, headers: [(String, String)] = [], keepAlive: Bool) {
        self.status = status
        self.contentLength = contentLength
        self.headers = headers
        self.keepAlive = keepAlive
    }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        append("HTTP/1.1 ", to: &out)
        JSONWriter.appendDecimal(status.code, to: &out)
        out.append(UInt8(ascii: " "))
        append(status.reason, to: &out)
        if let contentLength {
            append("\r\nContent-Length: ", to: &out)
            JSONWriter.appendDecimal(contentLength, to: &out)
        }
        append("\r\n", to: &out)
        for (name, value) in headers {
            append(name, to: &out)
            append(": ", to: &out)
            append(value, to: &out)
            append("\r\n", to: &out)
        }
        append(keepAlive ? "Connection: keep-alive\r\nServer: thin\r\n\r\n" : "Connection: close\r\nServer: thin\r\n\r\n", to: &out)
        return out
    }

    private func append(_ string: String, to out: inout [UInt8]) {
        out.append(contentsOf: string.utf8)
    }
}

/// The statuses this server sends, with the reason phrases Thin uses.
public struct HTTPStatus: Equatable, Sendable {
    public let code: Int
    public let reason: String

    public static let ok = HTTPStatus(code: 200, reason: "OK")
    public static let accepted = HTTPStatus(code: 202, reason: "Accepted")
    public static let noContent = HTTPStatus(code: 204, reason: "No Content")
    public static let notModified = HTTPStatus(code: 304, reason: "Not Modified")
    public static let badRequest = HTTPStatus(code: 400, reason: "Bad Request")
    public static let unauthorized = HTTPStatus(code: 401, reason: "Unauthorized")
    public static let forbidden = HTTPStatus(code: 403, reason: "Forbidden")
    public static let notFound = HTTPStatus(code: 404, reason: "Not Found")
    public static let methodNotAllowed = HTTPStatus(code: 405, reason: "Method Not Allowed")
    public static let requestTimeout = HTTPStatus(code: 408, reason: "Request Timeout")
    public static let payloadTooLarge = HTTPStatus(code: 413, reason: "Request Entity Too Large")
    public static let headersTooLarge = HTTPStatus(code: 431, reason: "Request Header Fields Too Large")
    public static let serviceUnavailable = HTTPStatus(code: 503, reason: "Service Unavailable")
}
