import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// `--state-file`: the memory backend's channels written on a graceful stop and loaded at start
/// (sequences continue, messages and lifetimes kept); a bad file is an error line and an empty start.
final class StateFileTests: XCTestCase {
    private var servers: [TestServer] = []
    private var path = ""

    override func setUp() {
        path = NSTemporaryDirectory() + "firehose-state-\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() {
        for server in servers { server.stop() }
        servers = []
        try? FileManager.default.removeItem(atPath: path)
    }

    private func server(longPollTimeout: Double = 5) throws -> TestServer {
        let path = self.path
        let server = try TestServer {
            $0.longPollTimeout = longPollTimeout
            $0.stateFile.path = path
        }
        servers.append(server)
        return server
    }

    private func restart(_ server: TestServer) throws -> TestServer {
        server.stop()  // the graceful path: the loop stops, then the state is written
        servers.removeAll { $0 === server }
        return try self.server()
    }

    func testRestartKeepsChannelsAndSequencesContinue() throws {
        var node = try server()
        for body in ["m1", "m2", "m3"] { XCTAssertEqual(try node.publish("/kept", body, headers: [("Cache-Control", "max-age=600")]).status, 202) }
        XCTAssertEqual(try node.publish("/forever", "p", headers: [("X-Firehose-Persist", "true")]).status, 202)
        XCTAssertEqual(try node.publish("/small", "s1", headers: [("X-Firehose-Buffer-Size", "1")]).status, 202)
        XCTAssertEqual(try node.publish("/small", "s2", headers: [("X-Firehose-Buffer-Size", "1")]).status, 202)
        node = try restart(node)
        // Lifetimes: /forever never expires, /kept has at most its 600 s left.
        let lifetimes = node.onLoop { [node] () -> (Double?, Double?) in
            let backend = node.memoryBackend
            let now = EventLoop.now()
            return (backend.expiresAtForTests("/forever").map { $0 - now }, backend.expiresAtForTests("/kept").map { $0 - now })
        }
        XCTAssertNil(lifetimes.0)
        XCTAssertTrue((590...600).contains(lifetimes.1 ?? -1), "lifetime kept: \(String(describing: lifetimes.1))")
        // The restart scenario with a state file: the client at 3 is level, n1 continues at 4.
        let poll = try node.connect()
        try poll.send(method: "GET", target: "/kept?last_message_sequence=3")
        XCTAssertEqual(poll.nextEvent(within: 0.3), .silent, "level with the loaded channel: waits")
        XCTAssertEqual(try node.publish("/kept", "n1").status, 202)
        XCTAssertEqual(try poll.readResponse().text, #"{"message":"n1","last_sequence":4}"#)
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/kept?last_message_sequence=1").text, #"{"message":"m2","last_sequence":2}"#)
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/forever").text, #"{"message":"p","last_sequence":1}"#)
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/small?last_message_sequence=0").text, #"{"message":"s2","last_sequence":2}"#)
        // And once more: what was published after the load is kept too.
        node = try restart(node)
        XCTAssertEqual(try node.connect().request(method: "GET", target: "/kept").text, #"{"message":"n1","last_sequence":4}"#)
    }

    func testBadFilesStartEmpty() throws {
        var node = try server()
        XCTAssertEqual(try node.publish("/a", "one").status, 202)
        node.stop()
        servers.removeAll()
        let good = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let variants: [(String, Data)] = [
            ("garbage", Data("not a state file at all".utf8)),
            ("empty", Data()),
            ("truncated", good.prefix(good.count - 3)),
            ("future version", { var data = good; data[15] = 2; return data }()),
            ("extra bytes", good + Data("x".utf8)),
        ]
        for (what, data) in variants {
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: data), what)
            node = try server(longPollTimeout: 0.3)
            XCTAssertEqual(try node.connect().request(method: "GET", target: "/a?last_message_sequence=0").status, 204, "\(what): starts empty")
            XCTAssertEqual(try node.publish("/b", "works").status, 202, "\(what): serves")
            node.stop()
            servers.removeAll()
        }
    }

    func testEveryTruncationIsRefusedWithoutCrashing() throws {
        let state = MemoryState(savedAtMilliseconds: 1, channels: [
            .init(name: "/a", sequence: 7, millisecondsLeft: 1000, bodies: [Array("x".utf8), Array("yz".utf8)]),
            .init(name: "/b", sequence: 1, millisecondsLeft: nil, bodies: []),
        ])
        let bytes = try state.encoded(limit: 1 << 20)
        let decoded = try MemoryState(decoding: bytes)
        XCTAssertEqual(decoded.channels, state.channels)
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try MemoryState(decoding: Array(bytes[..<length])), "\(length) bytes")
        }
        XCTAssertThrowsError(try state.encoded(limit: 40), "over the size limit")
        var lying = bytes
        lying[27] = 0xff  // the channel count
        XCTAssertThrowsError(try MemoryState(decoding: lying))
    }
}
