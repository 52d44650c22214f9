import FirehoseCore

/// Response pieces that several HTTP handlers share, each worded as the reference words it.
enum HTTPReplies {
    /// `Access-Control-Allow-Origin` echoing a non-empty `Origin`, on consumer responses only.
    static func cors(_ request: HTTPRequest) -> [(String, String)] {
        guard let origin = request.value(.origin), !origin.isEmpty else { return [] }
        return [("Access-Control-Allow-Origin", origin)]
    }

    static let negativeSequenceBody = Array("The last_message_sequence parameter may not be less than zero".utf8)

    /// The JSON error body the JS client parses from a 400.
    static func subscriptionFailed(_ reason: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + reason.utf8.count)
        writer.raw("{\"error\":\"Subscription failed\",\"reason\":")
        writer.string(reason)
        writer.raw("}")
        return writer.bytes
    }

    static let nothingToSubscribeReason = "No subscription data given - can't subscribe to nothing"

    static let textPlain = [("Content-Type", "text/plain")]

    /// The channel a request names: its raw path, which must be UTF-8 to travel in JSON frames.
    static func channel(of request: HTTPRequest) -> String? {
        let path = request.path
        guard path.withContiguousStorageIfAvailable({ UTF8Validation.isValid(UnsafeRawBufferPointer($0)) }) ?? UTF8Validation.isValid(Array(path)) else {
            return nil
        }
        return String(decoding: path, as: UTF8.self)
    }

    static func invalidChannel(_ request: HTTPRequest, on connection: HTTPConnection, context: ServerContext) {
        context.logger.info("\(connection.peerDescription): \(request.method) to a channel path that is not UTF-8; 400")
        connection.respond(.badRequest, headers: textPlain + cors(request), body: Array("Channel names must be valid UTF-8.".utf8))
    }
}
