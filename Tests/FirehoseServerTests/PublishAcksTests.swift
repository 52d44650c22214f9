import Foundation
import XCTest
@testable import FirehoseServer

/// The order in which a loop round's publishes go out (`PublishAcks`): every delivery to a small
/// channel before any `202` of the same round; a large channel's `202` before its fan-out.
///
/// The order is read from the kernel, not from when this thread gets to look: each socket is
/// asked for the receive timestamp (`SO_TIMESTAMPNS`) of the bytes it got, and on loopback a
/// segment is stamped as the server sends it. So the assertions hold or fail whatever this
/// thread's scheduling.
final class PublishAcksTests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws { server = try TestServer() }
    override func tearDown() { server.stop() }

    func testPublishesReadInOneRoundAreAllDeliveredBeforeAny202() throws {
        let channels = ["/acks-a", "/acks-b", "/acks-c"]
        let subscribers = try channels.map { channel in
            let socket = try StampedSocket(port: server.port)
            try socket.send("GET \(channel) HTTP/1.1\r\nHost: t\r\n\r\n")
            return socket
        }
        XCTAssertTrue(server.eventually { $0.waiting == channels.count })
        let publishers = try channels.map { _ in try StampedSocket(port: server.port) }
        // Hold the loop thread while every publish arrives, so that one round reads them all.
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        server.server.loop.execute {
            held.signal()
            release.wait()
        }
        held.wait()
        // On loopback a send is in the peer's receive queue when it returns.
        for (publisher, channel) in zip(publishers, channels) {
            try publisher.send("PUT \(channel) HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
        }
        release.signal()

        let acks = try publishers.map { try $0.readUntil("\r\n\r\n") }
        let deliveries = try subscribers.map { try $0.readUntil("\"last_sequence\":1}") }
        for ack in acks { XCTAssertTrue(ack.text.hasPrefix("HTTP/1.1 202"), ack.text) }
        let firstAck = acks.map(\.stamp).min()!
        for (channel, delivery) in zip(channels, deliveries) {
            XCTAssertTrue(delivery.text.hasPrefix("HTTP/1.1 200"), delivery.text)
            XCTAssertLessThanOrEqual(delivery.stamp, firstAck, "\(channel)'s delivery went out after a 202 of the same round")
        }
    }

    func testLargeChannelAnswersThePublisherBeforeItsFanOut() throws {
        let count = MemoryBackend.deliverBeforeAcceptingUpTo + 4
        let subscribers = try (0..<count).map { _ in
            let socket = try StampedSocket(port: server.port)
            try socket.send("GET /acks-large HTTP/1.1\r\nHost: t\r\n\r\n")
            return socket
        }
        XCTAssertTrue(server.eventually { $0.waiting == count })
        let publisher = try StampedSocket(port: server.port)
        try publisher.send("PUT /acks-large HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
        let ack = try publisher.readUntil("\r\n\r\n")
        XCTAssertTrue(ack.text.hasPrefix("HTTP/1.1 202"), ack.text)
        for subscriber in subscribers {
            let delivery = try subscriber.readUntil("\"last_sequence\":1}")
            XCTAssertGreaterThanOrEqual(delivery.stamp, ack.stamp, "a publisher to a large channel waited for the fan-out")
        }
    }
}

/// A blocking loopback TCP client whose reads report the kernel's receive timestamp.
private final class StampedSocket {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(fd, bytes, bytes.count, 0) == bytes.count else { throw POSIXError(.EIO) }
    }

    /// Reads until `marker` has arrived; the stamp is that of the last bytes read, in ns.
    func readUntil(_ marker: String) throws -> (text: String, stamp: Int) {
        var text = ""
        var stamp = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        var control = [UInt8](repeating: 0, count: 256)
        while !text.contains(marker) {
            let count = buffer.withUnsafeMutableBytes { data in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlBytes.baseAddress
                        header.msg_controllen = controlBytes.count
                        let count = recvmsg(fd, &header, 0)
                        if count > 0, let found = Self.stamp(in: UnsafeRawBufferPointer(rebasing: controlBytes[..<header.msg_controllen])) {
                            stamp = found
                        }
                        return count
                    }
                }
            }
            guard count > 0 else { throw POSIXError(.ETIMEDOUT) }
            text += String(decoding: buffer[..<count], as: UTF8.self)
        }
        XCTAssertGreaterThan(stamp, 0, "the kernel reported no receive timestamp")
        return (text, stamp)
    }

    /// The `SCM_TIMESTAMPNS` control message's time: `cmsghdr` (length, level, type) then a `timespec`.
    private static func stamp(in control: UnsafeRawBufferPointer) -> Int? {
        var offset = 0
        let headerSize = MemoryLayout<cmsghdr>.size
        while offset + headerSize <= control.count {
            let length = control.loadUnaligned(fromByteOffset: offset, as: Int.self)
            let level = control.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
            let type = control.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
            guard length >= headerSize else { return nil }
            if level == SOL_SOCKET, type == SO_TIMESTAMPNS, offset + headerSize + 16 <= control.count {
                let seconds = control.loadUnaligned(fromByteOffset: offset + headerSize, as: Int.self)
                let nanoseconds = control.loadUnaligned(fromByteOffset: offset + headerSize + 8, as: Int.self)
                return seconds * 1_000_000_000 + nanoseconds
            }
            offset += (length + 7) & ~7
        }
        return nil
    }
}
