import CLibevent
import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

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

    // MARK: writing straight to the socket

    /// When nothing is queued ahead, bytes go to the socket at once: no write registration with
    /// epoll and no wait for the next loop turn (measured: two `epoll_ctl` calls per delivery
    /// otherwise). Whatever the socket does not take is queued, and libevent finishes it in order.
    static func write(_ bytes: UnsafeRawBufferPointer, to bev: OpaquePointer) -> Int {
        let output = bufferevent_get_output(bev)
        guard evbuffer_get_length(output) == 0, let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        let sent = send(bufferevent_getfd(bev), base, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        return max(0, sent)  // errors are left for libevent's own write to notice and report
    }

    static func write(_ bytes: [UInt8], to bev: OpaquePointer) {
        bytes.withUnsafeBytes { buffer in
            let sent = write(buffer, to: bev)
            if sent < buffer.count {
                evbuffer_add(bufferevent_get_output(bev), buffer.baseAddress! + sent, buffer.count - sent)
            }
        }
    }

    static func write(_ shared: SharedBytes, to bev: OpaquePointer) {
        let sent = write(UnsafeRawBufferPointer(start: shared.pointer, count: shared.count), to: bev)
        guard sent < shared.count else { return }
        let output = bufferevent_get_output(bev)
        let rest = shared.count - sent
        if rest < referenceThreshold {
            evbuffer_add(output, shared.pointer + sent, rest)
        } else {
            let retained = Unmanaged.passRetained(shared).toOpaque()
            evbuffer_add_reference(output, shared.pointer + sent, rest, { _, _, extra in
                Unmanaged<SharedBytes>.fromOpaque(extra!).release()
            }, retained)
        }
    }

    static func writeTextFrame(_ payload: SharedBytes, to bev: OpaquePointer) {
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let length = WebSocketProtocol.textFrameHeader(length: payload.count, into: &header)
        withUnsafeBytes(of: &header) { headerBytes in
            let framed = UnsafeRawBufferPointer(rebasing: headerBytes[0..<length])
            let sent = write(framed, to: bev)
            if sent < length { evbuffer_add(bufferevent_get_output(bev), framed.baseAddress! + sent, length - sent) }
        }
        write(payload, to: bev)
    }
}
