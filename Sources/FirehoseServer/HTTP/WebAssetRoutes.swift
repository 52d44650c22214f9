internal import FirehoseCore
internal import FirehoseWebAssets

/// The browser files compiled into the binary (spec/sse.md, browser client): `firehose.js` at
/// `/firehose.js@firehose`, cacheable with a strong ETag, and the live demo page at
/// `/demo@firehose` (`--demo off` hides it). Both are reserved paths, never channels.
struct WebAssetRoutes {
    private let demoEnabled: Bool

    init(configuration: ServerConfiguration) {
        demoEnabled = configuration.demoPage
    }

    static let clientPath = Array("/firehose.js@firehose".utf8)
    static let demoPath = Array("/demo@firehose".utf8)

    /// Answers the request if it names an asset; returns false for any other path.
    func handle(_ request: HTTPRequest, on connection: HTTPConnection) -> Bool {
        let path = request.path
        if ReservedPaths.same(path, WebAssetRoutes.clientPath) {
            serve(WebAssets.firehoseJS, etag: WebAssets.firehoseJSETag, type: "text/javascript; charset=utf-8", request, on: connection)
            return true
        }
        if demoEnabled, ReservedPaths.same(path, WebAssetRoutes.demoPath) {
            serve(WebAssets.demoHTML, etag: WebAssets.demoHTMLETag, type: "text/html; charset=utf-8", request, on: connection)
            return true
        }
        return false
    }

    private func serve(_ bytes: [UInt8], etag: String, type: String, _ request: HTTPRequest, on connection: HTTPConnection) {
        let caching = [("ETag", etag), ("Cache-Control", "public, max-age=300")]
        if let wanted = request.value(.ifNoneMatch), wanted.split(separator: ",").contains(where: { $0.trimmingSpaces == etag || $0.trimmingSpaces == "*" }) {
            connection.respond(.notModified, headers: caching)
            return
        }
        connection.respond(.ok, headers: [("Content-Type", type)] + caching, body: bytes)
    }
}

private extension Substring {
    var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result = result.dropFirst() }
        while result.last == " " { result = result.dropLast() }
        return result
    }
}
