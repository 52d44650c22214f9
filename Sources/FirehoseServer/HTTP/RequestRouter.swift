import FirehoseCore

/// Sends each request to the handler the reference would use: PUT publishes on any path (it is
/// dispatched before paths are looked at), HEAD pings, the exact path `/metrics@firehose` shows
/// metrics, any path containing `channels@firehose` multiplexes, and GET long-polls.
struct RequestRouter {
    unowned let context: ServerContext
    private let publish: PublishHandler
    private let longPoll: LongPollTransport
    private let multiplexLongPoll: MultiplexLongPollTransport
    private let webSocket: WebSocketTransport

    init(context: ServerContext) {
        self.context = context
        publish = PublishHandler(context: context)
        longPoll = LongPollTransport(context: context)
        multiplexLongPoll = MultiplexLongPollTransport(context: context)
        webSocket = WebSocketTransport(context: context)
    }

    static let metricsPath = Array("/metrics@firehose".utf8)
    static let multiplexMarker = Array("channels@firehose".utf8)

    func route(_ request: HTTPRequest, on connection: HTTPConnection) {
        context.logger.debug("\(request.method) \(String(decoding: request.target, as: UTF8.self))")
        if request.isUpgrade {
            if request.method == "GET", request.value(.upgrade)?.lowercased() == "websocket" {
                webSocket.upgrade(request, on: connection)
                return
            }
            // Another protocol (h2c...): answer over HTTP/1.1, then close, since the parser stops here.
            connection.closeAfterResponse()
        }
        switch request.method {
        case "PUT":
            publish.handle(request, on: connection)
        case "HEAD":
            ping(request, on: connection)
        default:
            if request.path.elementsEqual(RequestRouter.metricsPath) {
                connection.respond(.ok, body: context.metrics.encoded(now: EventLoop.unixTime()))
            } else if RequestRouter.isMultiplexPath(request.path) {
                multiplexLongPoll.handle(request, on: connection)
            } else if request.method == "GET" {
                longPoll.handle(request, on: connection)
            } else {
                methodNotAllowed(request, on: connection)
            }
        }
    }

    static func isMultiplexPath(_ path: ArraySlice<UInt8>) -> Bool {
        let marker = multiplexMarker
        guard path.count >= marker.count else { return false }
        var start = path.startIndex
        while start + marker.count <= path.endIndex {
            if path[start..<(start + marker.count)].elementsEqual(marker) { return true }
            start += 1
        }
        return false
    }

    func methodNotAllowed(_ request: HTTPRequest, on connection: HTTPConnection) {
        context.logger.debug("\(request.method) not supported on \(request.pathString)")
        connection.respond(.methodNotAllowed, headers: [("Allow", "GET")], body: Array("\(request.method) not supported.".utf8))
    }

    /// The health check. For memory it cannot fail; for Redis it is a real round trip.
    private func ping(_ request: HTTPRequest, on connection: HTTPConnection) {
        let pending = PendingCompletion()
        connection.hold(pending, timeout: nil)
        context.backend.ping { [weak connection] healthy in
            guard !pending.cancelled, let connection else { return }
            connection.respond(healthy ? .ok : .serviceUnavailable)
        }
    }
}

/// A pending response with nothing to clean up but a flag: a callback from the backend checks it
/// so that it never answers a connection that has gone.
final class PendingCompletion: PendingResponse {
    private(set) var cancelled = false
    func cancel() { cancelled = true }
    func timedOut() {}
}
