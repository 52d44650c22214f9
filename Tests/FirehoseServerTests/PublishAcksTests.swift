import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

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
            let connection = try stampedConnection()
            try connection.send(method: "GET", target: channel)
            return connection
        }
        XCTAssertTrue(server.eventually { $0.waiting == channels.count })
        let publishers = try channels.map { _ in try stampedConnection() }
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
            try publisher.send(method: "PUT", target: channel, body: Array("hi".utf8))
        }
        release.signal()

        let acks = try publishers.map { try stampedRead($0, until: "\r\n\r\n") }
        let deliveries = try subscribers.map { try stampedRead($0, until: "\"last_sequence\":1}") }
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
            let connection = try stampedConnection()
            try connection.send(method: "GET", target: "/acks-large")
            return connection
        }
        XCTAssertTrue(server.eventually { $0.waiting == count })
        let publisher = try stampedConnection()
        try publisher.send(method: "PUT", target: "/acks-large", body: Array("hi".utf8))
        let ack = try stampedRead(publisher, until: "\r\n\r\n")
        XCTAssertTrue(ack.text.hasPrefix("HTTP/1.1 202"), ack.text)
        for subscriber in subscribers {
            let delivery = try stampedRead(subscriber, until: "\"last_sequence\":1}")
            XCTAssertGreaterThanOrEqual(delivery.stamp, ack.stamp, "a publisher to a large channel waited for the fan-out")
        }
    }

    /// A connection whose socket reports, with every read, the kernel's receive timestamp.
    private func stampedConnection() throws -> HTTPClientConnection {
        let connection = try server.connect()
        var one: Int32 = 1
        setsockopt(connection.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, socklen_t(MemoryLayout<Int32>.size))
        return connection
    }

    /// Reads `connection`'s socket until `marker` has arrived (bypassing its buffered reader,
    /// which has not been used); the stamp is that of the last bytes read, in ns.
    private func stampedRead(_ connection: HTTPClientConnection, until marker: String) throws -> (text: String, stamp: Int) {
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
                        let count = recvmsg(connection.fd, &header, 0)
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
