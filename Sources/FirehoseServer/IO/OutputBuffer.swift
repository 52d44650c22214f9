import CLibevent
import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// Getting bytes to a connection's socket. Small byte runs are copied; a shared frame large enough
/// for it to pay off is queued by reference, kept alive until libevent has sent it, so a message
/// fanned out to many connections is never copied per connection.
///
/// `write` sends at once when nothing is queued ahead: no write registration with epoll and no
/// wait for the next loop turn (measured: two `epoll_ctl` calls per delivery otherwise). Whatever
/// the socket does not take is queued, and libevent finishes it in order. `add` only queues (for
/// buffers that are not the socket's yet, and bytes that must follow wslay's own frames).
enum OutputBuffer {
    /// Below this size a copy is cheaper than the reference's bookkeeping.
    static let referenceThreshold = 4096

    static func add(_ bytes: [UInt8], to output: OpaquePointer?) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { _ = evbuffer_add(output, $0.baseAddress, $0.count) }
    }

    static func add(_ shared: SharedBytes, to output: OpaquePointer?) {
        queue(shared, from: 0, to: output)
    }

    /// A WebSocket text frame around a shared payload: only the 2-10 header bytes are per frame.
    static func addTextFrame(_ payload: SharedBytes, to output: OpaquePointer?) {
        withTextFrameHeader(for: payload) { _ = evbuffer_add(output, $0.baseAddress, $0.count) }
        add(payload, to: output)
    }

    static func write(_ bytes: [UInt8], to bev: OpaquePointer) {
        bytes.withUnsafeBytes { write($0, to: bev) }
    }

    static func write(_ shared: SharedBytes, to bev: OpaquePointer) {
        let sent = sendNow(UnsafeRawBufferPointer(start: shared.pointer, count: shared.count), to: bev)
        queue(shared, from: sent, to: bufferevent_get_output(bev))
    }

    static func writeTextFrame(_ payload: SharedBytes, to bev: OpaquePointer) {
        withTextFrameHeader(for: payload) { write($0, then: payload, to: bev) }
    }

    /// A response head and its shared body, as one write.
    static func write(_ head: [UInt8], then body: SharedBytes, to bev: OpaquePointer) {
        head.withUnsafeBytes { write($0, then: body, to: bev) }
    }

    /// `head` then `body` in one `sendmsg`: one syscall and one TCP segment per delivery, where two
    /// writes cost two of each (measured: half the server's CPU in a WebSocket fan-out).
    private static func write(_ head: UnsafeRawBufferPointer, then body: SharedBytes, to bev: OpaquePointer) {
        let output = bufferevent_get_output(bev)
        guard evbuffer_get_length(output) == 0 else {
            evbuffer_add(output, head.baseAddress, head.count)
            return queue(body, from: 0, to: output)
        }
        var parts = (iovec(iov_base: UnsafeMutableRawPointer(mutating: head.baseAddress), iov_len: head.count),
                     iovec(iov_base: UnsafeMutableRawPointer(mutating: body.pointer), iov_len: body.count))
        let sent = withUnsafeMutableBytes(of: &parts) { vectors -> Int in
            var message = msghdr()
            message.msg_iov = vectors.baseAddress!.assumingMemoryBound(to: iovec.self)
            message.msg_iovlen = 2
            return max(0, sendmsg(bufferevent_getfd(bev), &message, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)))
        }
        if sent < head.count {
            evbuffer_add(output, head.baseAddress! + sent, head.count - sent)
            queue(body, from: 0, to: output)
        } else {
            queue(body, from: sent - head.count, to: output)
        }
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to bev: OpaquePointer) {
        let sent = sendNow(bytes, to: bev)
        if sent < bytes.count {
            evbuffer_add(bufferevent_get_output(bev), bytes.baseAddress! + sent, bytes.count - sent)
        }
    }

    /// Sends what the socket takes now, if nothing is queued ahead; returns the bytes sent.
    private static func sendNow(_ bytes: UnsafeRawBufferPointer, to bev: OpaquePointer) -> Int {
        guard evbuffer_get_length(bufferevent_get_output(bev)) == 0, let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        let sent = send(bufferevent_getfd(bev), base, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        return max(0, sent)  // errors are left for libevent's own write to notice and report
    }

    /// Queues `shared` from `offset` on: copied when short, by reference otherwise.
    private static func queue(_ shared: SharedBytes, from offset: Int, to output: OpaquePointer?) {
        let rest = shared.count - offset
        guard rest > 0 else { return }
        if rest < referenceThreshold {
            evbuffer_add(output, shared.pointer + offset, rest)
        } else {
            let retained = Unmanaged.passRetained(shared).toOpaque()
            evbuffer_add_reference(output, shared.pointer + offset, rest, { _, _, extra in
                Unmanaged<SharedBytes>.fromOpaque(extra!).release()
            }, retained)
        }
    }

    private static func withTextFrameHeader(for payload: SharedBytes, _ body: (UnsafeRawBufferPointer) -> Void) {
        var header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let length = WebSocketProtocol.textFrameHeader(length: payload.count, into: &header)
        withUnsafeBytes(of: &header) { body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}
