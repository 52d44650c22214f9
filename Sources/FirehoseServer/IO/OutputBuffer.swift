internal import CLibevent
internal import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// Getting bytes to a connection's socket. Small byte runs are copied; a shared encoding large
/// enough for it to pay off is queued by reference, kept alive until libevent has sent it, so a
/// message fanned out to many connections is never copied per connection.
///
/// `write` sends at once when nothing is queued ahead: no write registration with epoll and no
/// wait for the next loop turn (measured: two `epoll_ctl` calls per delivery otherwise). Whatever
/// the socket does not take is queued, and libevent finishes it in order. `add` only queues (for
/// buffers that are not the socket's yet). Framing (HTTP heads, chunk sizes, WebSocket frame
/// headers) is the transports' business: this file moves bytes.
enum OutputBuffer {
    /// Below this size a copy is cheaper than the reference's bookkeeping.
    static let referenceThreshold = 4096

    static func add(_ bytes: [UInt8], to output: EventBuffer) {
        output.add(bytes)
    }

    static func add(_ shared: SharedBytes, to output: EventBuffer) {
        queue(shared, from: 0, to: output)
    }

    /// `prefix`, then `shared`, then `suffix`, queued in that order.
    static func add(prefix: UnsafeRawBufferPointer, _ shared: SharedBytes, suffix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), to output: EventBuffer) {
        output.add(prefix)
        queue(shared, from: 0, to: output)
        output.add(suffix)
    }

    /// A message in one format: its head, its shared body and its tail, queued in that order.
    static func add(_ message: EncodedMessage, to output: EventBuffer) {
        add(prefix: message.head, message.body, suffix: message.tail, to: output)
    }

    /// A message in one format: its head, its shared body and its tail, as one write.
    static func write(_ message: EncodedMessage, to bev: BufferEvent) {
        write(prefix: message.head, message.body, suffix: message.tail, to: bev)
    }

    static func write(_ bytes: [UInt8], to bev: BufferEvent) {
        bytes.withUnsafeBytes { write($0, to: bev) }
    }

    static func write(_ shared: SharedBytes, to bev: BufferEvent) {
        let sent = sendNow(UnsafeRawBufferPointer(start: shared.pointer, count: shared.count), to: bev)
        queue(shared, from: sent, to: bev.output)
    }

    /// A response head and its shared body, as one write.
    static func write(_ head: [UInt8], then body: SharedBytes, to bev: BufferEvent) {
        head.withUnsafeBytes { write(prefix: $0, body, to: bev) }
    }

    /// `prefix`, `shared` and `suffix` in one `sendmsg`: one syscall and one TCP segment per
    /// delivery, where separate writes cost one of each per piece (measured: half the server's CPU
    /// in a WebSocket fan-out went to the second write).
    static func write(prefix: UnsafeRawBufferPointer, _ shared: SharedBytes,
                      suffix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), to bev: BufferEvent) {
        let output = bev.output
        guard output.count == 0 else {
            return add(prefix: prefix, shared, suffix: suffix, to: output)
        }
        var parts = (iovec(iov_base: UnsafeMutableRawPointer(mutating: prefix.baseAddress), iov_len: prefix.count),
                     iovec(iov_base: UnsafeMutableRawPointer(mutating: shared.pointer), iov_len: shared.count),
                     iovec(iov_base: UnsafeMutableRawPointer(mutating: suffix.baseAddress), iov_len: suffix.count))
        let pieces = suffix.count > 0 ? 3 : 2
        let sent = withUnsafeMutableBytes(of: &parts) { vectors -> Int in
            var message = msghdr()
            message.msg_iov = vectors.baseAddress!.assumingMemoryBound(to: iovec.self)
            message.msg_iovlen = pieces
            return max(0, sendmsg(bev.fd, &message, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)))
        }
        // Queue whatever the socket did not take, piece by piece, in order.
        if sent < prefix.count {
            output.add(UnsafeRawBufferPointer(rebasing: prefix[sent...]))
            queue(shared, from: 0, to: output)
            output.add(suffix)
        } else if sent < prefix.count + shared.count {
            queue(shared, from: sent - prefix.count, to: output)
            output.add(suffix)
        } else {
            output.add(UnsafeRawBufferPointer(rebasing: suffix[(sent - prefix.count - shared.count)...]))
        }
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to bev: BufferEvent) {
        let sent = sendNow(bytes, to: bev)
        if sent < bytes.count {
            bev.output.add(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
        }
    }

    /// Sends what the socket takes now, if nothing is queued ahead; returns the bytes sent.
    private static func sendNow(_ bytes: UnsafeRawBufferPointer, to bev: BufferEvent) -> Int {
        guard bev.output.count == 0, let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        let sent = send(bev.fd, base, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        return max(0, sent)  // errors are left for libevent's own write to notice and report
    }

    /// Queues `shared` from `offset` on: copied when short, by reference otherwise.
    private static func queue(_ shared: SharedBytes, from offset: Int, to output: EventBuffer) {
        let rest = shared.count - offset
        guard rest > 0 else { return }
        if rest < referenceThreshold {
            evbuffer_add(output.raw, shared.pointer + offset, rest)
        } else {
            let retained = Unmanaged.passRetained(shared).toOpaque()
            evbuffer_add_reference(output.raw, shared.pointer + offset, rest, { _, _, extra in
                Unmanaged<SharedBytes>.fromOpaque(extra!).release()
            }, retained)
        }
    }
}
