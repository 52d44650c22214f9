import Crypto

/// `Sec-WebSocket-Accept` (RFC 6455 §4.2.2) from the library's SHA-1, so that the server can drop
/// its own SHA-1 implementation. SHA-1 is what the RFC fixes here; it protects nothing.
public enum WebSocketAccept {
    private static let guid = Array("258EAFA5-E914-47DA-95CA-C5AB0DC85B11".utf8)

    /// - Parameter clientKey: the `Sec-WebSocket-Key` header value as sent, not base64-decoded.
    public static func key(for clientKey: some Sequence<UInt8>) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: Array(clientKey))
        hasher.update(data: guid)
        return Base64URL.encodeStandard(Array(hasher.finalize()))
    }
}
