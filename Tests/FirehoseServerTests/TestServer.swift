import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// A real server on a loopback port, its loop running on its own thread, for integration tests.
final class TestServer: @unchecked Sendable {
    let server: FirehoseServer
    let port: Int
    private let finished = DispatchSemaphore(value: 0)
    /// Stopped servers stay referenced: their sockets and loop are torn down with the process.
    nonisolated(unsafe) private static var retired: [TestServer] = []

    init(policy: AccessPolicy? = nil, _ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.logLevel = .error
        configuration.longPollTimeout = 1
        configuration.idleTimeout = 2
        configure(&configuration)
        server = try policy.map { try FirehoseServer(configuration: configuration, policy: $0) } ?? FirehoseServer(configuration: configuration)
        port = server.boundPort
        let thread = Thread { [self] in
            server.run()
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        server.stop()
        finished.wait()
        TestServer.retired.append(self)
    }

    func connect(timeout: Double = 5) throws -> HTTPClientConnection {
        try HTTPClientConnection(host: "127.0.0.1", port: port, timeout: timeout)
    }

    /// Runs `body` on the loop thread (where all server state lives) and returns its result.
    func onLoop<T>(_ body: @escaping () -> T) -> T {
        let result = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let job = Box(body)
        server.loop.execute {
            result.value = job.value!()
            done.signal()
        }
        done.wait()
        return result.value!
    }

    var memoryBackend: MemoryBackend { server.context.backend as! MemoryBackend }

    /// What the server holds, read on the loop thread.
    struct Census: Equatable, CustomStringConvertible {
        var channels: Int, waiting: Int, connections: Int
        var description: String { "\(channels) channels, \(waiting) waiting long-polls, \(connections) connections" }
    }

    func census() -> Census {
        onLoop { [self] in
            Census(channels: memoryBackend.channelCount, waiting: server.context.longPollQueue.count,
                   connections: server.context.openConnections)
        }
    }

    /// Polls the census until `condition` holds or `timeout` passes.
    func eventually(timeout: Double = 3, _ condition: (Census) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(census()) { return true }
            usleep(10_000)
        }
        return condition(census())
    }

    @discardableResult
    func publish(_ channel: String, _ body: String, headers: [(String, String)] = [], on connection: HTTPClientConnection? = nil) throws -> HTTPClientConnection.Response {
        let client = try connection ?? connect()
        return try client.request(method: "PUT", target: channel, headers: headers, body: Array(body.utf8))
    }

    /// A WebSocket on `channel` that sent `{"message_sequence":N}` and then a ping: its pong, the
    /// next frame (asserted), shows that the subscription was handled and replayed nothing before it.
    func subscribedWebSocket(_ channel: String, from sequence: Int, timeout: Double = 10, _ what: String = "subscribed",
                             file: StaticString = #filePath, line: UInt = #line) throws -> WebSocketClientConnection {
        let ws = try WebSocketClientConnection(host: "127.0.0.1", port: port, target: channel, timeout: timeout)
        try ws.send(text: #"{"message_sequence":\#(sequence)}"#)
        try ws.send(text: #"{"ping":"PING"}"#)
        XCTAssertEqual(try ws.receive().text, #"{"pong":"PONG"}"#, what, file: file, line: line)
        return ws
    }
}

/// A long-poll client that re-polls at once with each returned sequence over one keep-alive
/// connection, collecting frames into `frames` until it has `count` of them or `seconds` pass.
/// Runs on a global queue, joined through `group`.
func followLongPoll(port: Int, channel: String, count: Int, into frames: Box<[LongPollFrame]>, seconds: Double,
                    group: DispatchGroup) {
    DispatchQueue.global().async(group: group) {
        guard let client = try? HTTPClientConnection(host: "127.0.0.1", port: port, timeout: seconds) else { return }
        var last = 0
        let deadline = Date().addingTimeInterval(seconds)
        while frames.value!.count < count, Date() < deadline {
            guard let response = try? client.request(method: "GET", target: "\(channel)?last_message_sequence=\(last)") else { return }
            guard response.status == 200, let frame = LongPollFrame(json: response.body) else { continue }
            frames.value!.append(frame)
            last = frame.lastSequence
        }
    }
}

final class Box<T>: @unchecked Sendable {
    var value: T?
    init(_ value: T? = nil) { self.value = value }
}
