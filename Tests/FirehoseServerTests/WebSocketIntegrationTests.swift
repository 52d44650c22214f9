import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

final class WebSocketIntegrationTests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer { $0.webSocketMaxBufferedBytes = 256 * 1024 }
    }

    override func tearDown() { server.stop() }

    private func socket(_ target: String) throws -> WebSocketClientConnection {
        try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: target)
    }

    func testCatchUpSendsEveryMissedMessageThenLive() throws {
        for i in 1...5 { try server.publish("/ws", "m-\(i)") }
        let client = try socket("/ws")
        try client.send(text: #"{"ping":"PING"}"#)
        XCTAssertEqual(try client.receive().text, #"{"pong":"PONG"}"#)
        try client.send(text: #"{"message_sequence":2}"#)
        for i in 3...5 { XCTAssertEqual(try client.receive().text, #"{"message":"m-\#(i)","last_sequence":\#(i)}"#) }
        try server.publish("/ws", "live")
        XCTAssertEqual(try client.receive().text, #"{"message":"live","last_sequence":6}"#)
    }

    /// A waiting subscriber gets the next publish whatever its number, including sequence 1 after
    /// the channel expired and restarted.
    func testWaiterGetsFirstMessageAfterChannelRestart() throws {
        try server.publish("/restart", "a", headers: [("Cache-Control", "max-age=1")])
        let client = try socket("/restart")
        try client.send(text: #"{"message_sequence":1}"#)
        usleep(2_300_000)  // the channel expires (the sweep runs every second)
        try server.publish("/restart", "b")
        XCTAssertEqual(try client.receive().text, #"{"message":"b","last_sequence":1}"#)
    }

    func testClosedSocketLeavesNothingBehind() throws {
        var clients = try (0..<10).map { i in try socket(i % 2 == 0 ? "/wsgone" : "/channels@firehose?subscribe=/wsgone!0,/wsother!0") }
        for client in clients { try client.send(text: #"{"message_sequence":0}"#) }
        XCTAssertTrue(server.eventually { _ in self.server.onLoop { self.server.server.context.openWebSockets == 10 } })
        XCTAssertTrue(server.eventually { $0.channels == 2 })
        clients.removeAll()
        XCTAssertTrue(server.eventually { $0.channels == 0 && $0.connections == 0 }, "\(server.census())")
        XCTAssertEqual(server.onLoop { self.server.server.context.openWebSockets }, 0)
    }

    /// A reader that stops reading is cut off within the buffer budget, while everyone else keeps
    /// receiving every message.
    func testSlowConsumerIsCutOffAndOthersKeepUp() throws {
        let total = 50_000
        let payload = String(repeating: "x", count: 1000)
        let stalled = try socket("/slow")
        var small: Int32 = 4096
        setsockopt(stalled.connection.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try stalled.send(text: #"{"message_sequence":0}"#)
        let reader = try socket("/slow")
        try reader.send(text: #"{"message_sequence":0}"#)
        XCTAssertTrue(server.eventually { _ in self.server.onLoop { self.server.memoryBackend.channelCount == 1 } })
        usleep(100_000)

        let received = Box(0)
        let inOrder = Box(true)
        let done = DispatchSemaphore(value: 0)
        let finished = Box(false)
        let readerBox = Box(reader)
        Thread {
            let reader = readerBox.value!
            var expected = 1
            while expected <= total, let frame = try? reader.receive(), let parsed = LongPollFrame(json: frame.payload) {
                if parsed.lastSequence != expected { inOrder.value = false }
                expected += 1
                received.value = expected - 1
            }
            finished.value = true
            done.signal()
        }.start()

        let rssBefore = Self.residentBytes()
        let publisher = try server.connect()
        var batch: [UInt8] = []
        for i in 1...total {
            batch += Array("PUT /slow HTTP/1.1\r\nContent-Length: \(payload.utf8.count)\r\n\r\n\(payload)".utf8)
            if i % 100 == 0 {
                try publisher.send(batch)
                for _ in 0..<100 { XCTAssertEqual(try publisher.readResponse().status, 202) }
                batch.removeAll(keepingCapacity: true)
                // Let the reading client keep pace; if it stopped (cut off, or an error) waiting would
                // never end: go on, and the count below fails. (Under AddressSanitizer this hung.)
                while received.value! < i - 2000, !finished.value! { usleep(1000) }
            }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(received.value, total, "the reading client got every message")
        XCTAssertTrue(inOrder.value!)
        XCTAssertEqual(server.onLoop { self.server.server.context.openWebSockets }, 1, "the stalled client was cut off")
        let growth = Self.residentBytes() - rssBefore
        XCTAssertLessThan(growth, 40 << 20, "50 MB published; the server must not have buffered it for the stalled client")
    }

    private static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return (Int(line.split(separator: " ")[1]) ?? 0) * 1024
    }
}
