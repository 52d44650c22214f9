import CLibevent
import FirehoseCore

/// Appending to a connection's libevent output buffer: small byte runs are copied, and a shared
/// frame large enough for it to pay off is queued by reference, kept alive until libevent has
/// sent it, so a message fanned out to many connections is never copied per connection.
enum OutputBuffer {
    /// Below this size a copy is cheaper than the reference's bookkeeping.
    static let referenceThreshold = 4096

    static func add(_ bytes: [UInt8], to output: OpaquePointer?) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { _ = evbuffer_add(output, $0.baseAddress, $0.count) }
    }

    static func add(_ shared: SharedBytes, to output: OpaquePointer?) {
        if shared.count < referenceThreshold {
            evbuffer_add(output, shared.pointer, shared.count)
        } else {
            let retained = Unmanaged.passRetained(shared).toOpaque()
            evbuffer_add_reference(output, shared.pointer, shared.count, { _, _, extra in
                Unmanaged<SharedBytes>.fromOpaque(extra!).release()
            }, retained)
        }
    }

    /// A WebSocket text frame around a shared payload: only the 2-10 header bytes are per frame.
    static func addTextFrame(_ payload: SharedBytes, to output: OpaquePointer?) {
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let length = WebSocketProtocol.textFrameHeader(length: payload.count, into: &header)
        withUnsafeBytes(of: &header) { _ = evbuffer_add(output, $0.baseAddress, length) }
        add(payload, to: output)
    }
}
