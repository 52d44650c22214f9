import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// A policy decided by a function of the action and channel, answering at once or on a later
/// loop turn (as a remote hook would), and recording what it was asked.
final class ScriptedPolicy: AccessPolicy, @unchecked Sendable {
    let decide: (AccessAction, String) -> AccessDecision
    let later: Bool
    private(set) var asked: [(AccessAction, String, String?)] = []
    private var timers: [LoopTimer] = []
    var loop: EventLoop?

    init(later: Bool = false, _ decide: @escaping (AccessAction, String) -> AccessDecision) {
        self.decide = decide
        self.later = later
    }

    var allowsEverything: Bool { false }

    func authorize(_ action: AccessAction, channel: String, credentials: Credentials, completion: @escaping (AccessDecision) -> Void) {
        asked.append((action, channel, credentials.accessToken))
        let decision = decide(action, channel)
        guard later, let loop else { return completion(decision) }
        var timer: LoopTimer?
        timer = LoopTimer(loop: loop) { [weak self] in
            completion(decision)
            self?.timers.removeAll { $0 === timer }
        }
        timers.append(timer!)
        timer!.schedule(after: 0.01)
    }
}

/// Every transport asks the one policy seam, and a refusal is answered the way each transport
/// answers (spec: the access-control clauses).
final class AccessPolicyTests: XCTestCase {
    private func server(_ policy: ScriptedPolicy) throws -> TestServer {
        let server = try TestServer(policy: policy)
        policy.loop = server.server.loop
        return server
    }

    private func upgradeStatus(_ server: TestServer, _ target: String) throws -> Int {
        let client = try server.connect()
        try client.send(method: "GET", target: target, headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                                  ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                                                  ("Sec-WebSocket-Version", "13")])
        return try client.readResponse().status
    }

    func testDenyAllRefusesEveryTransport() throws {
        for later in [false, true] {
            let policy = ScriptedPolicy(later: later) { _, _ in .denied(.forbidden) }
            let server = try server(policy)
            defer { server.stop() }
            let client = try server.connect()
            XCTAssertEqual(try client.request(method: "PUT", target: "/a", body: Array("x".utf8)).status, 403, "publish, later: \(later)")
            XCTAssertEqual(try client.request(method: "GET", target: "/a").status, 403, "long-poll")
            XCTAssertEqual(try client.request(method: "GET", target: "/channels@firehose?subscribe=/a!0,/b!0").status, 403, "multiplexed GET")
            XCTAssertEqual(try client.request(method: "POST", target: "/channels@firehose", body: Array(#"{"/a":0}"#.utf8)).status, 403, "multiplexed POST")
            XCTAssertEqual(try upgradeStatus(server, "/a"), 403, "WebSocket")
            XCTAssertEqual(try upgradeStatus(server, "/channels@firehose?subscribe=/a!0"), 403, "multiplexed WebSocket")
            // Nothing was published while refused.
            XCTAssertEqual(server.onLoop { server.memoryBackend.channelCount }, 0)
        }
    }

    func testRefusalsMapToTheirHTTPAnswers() throws {
        let policy = ScriptedPolicy { _, channel in
            switch channel {
            case "/none": .denied(.unauthenticated)
            case "/bad": .denied(.invalidCredentials)
            case "/down": .denied(.unavailable("the hook did not answer"))
            default: .allowed(until: nil)
            }
        }
        let server = try server(policy)
        defer { server.stop() }
        let client = try server.connect()
        let none = try client.request(method: "GET", target: "/none")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.header("WWW-Authenticate"), "Bearer")
        let bad = try client.request(method: "PUT", target: "/bad", body: [0x61])
        XCTAssertEqual(bad.status, 401)
        XCTAssertEqual(bad.header("WWW-Authenticate"), #"Bearer error="invalid_token""#)
        let down = try client.request(method: "GET", target: "/down")
        XCTAssertEqual(down.status, 503)
        XCTAssertEqual(String(decoding: down.body, as: UTF8.self), "the hook did not answer\n")
        XCTAssertEqual(try client.request(method: "PUT", target: "/ok", body: Array("fine".utf8)).status, 202)
        XCTAssertEqual(String(decoding: try client.request(method: "GET", target: "/ok").body, as: UTF8.self), #"{"message":"fine","last_sequence":1}"#)
    }

    /// A multiplexed long-poll naming one refused channel is refused whole; the policy saw every
    /// channel with the request's credentials.
    func testMultiplexedRequestIsRefusedWholeAndCredentialsReachThePolicy() throws {
        let policy = ScriptedPolicy(later: true) { _, channel in channel == "/secret" ? .denied(.forbidden) : .allowed(until: nil) }
        let server = try server(policy)
        defer { server.stop() }
        try server.publish("/open", "o")
        let client = try server.connect()
        let refused = try client.request(method: "GET", target: "/channels@firehose?subscribe=/open!0,/secret!0&access_token=t%2B1")
        XCTAssertEqual(refused.status, 403)
        XCTAssertEqual(refused.body, [])
        let asked = server.onLoop { policy.asked.map { "\($0.0) \($0.1) \($0.2 ?? "-")" } }
        XCTAssertTrue(asked.contains("subscribe /open t+1") && asked.contains("subscribe /secret t+1"), "\(asked)")
        let allowed = try client.request(method: "GET", target: "/channels@firehose?subscribe=/open!0")
        XCTAssertEqual(String(decoding: allowed.body, as: UTF8.self), #"{"channel":"/open","message":"o","last_sequence":1}"#)
    }

    /// On an open multiplexed socket a refused channel gets an error frame; the others work.
    func testRefusedDynamicSubscriptionGetsAnErrorFrame() throws {
        let policy = ScriptedPolicy { _, channel in channel == "/secret" ? .denied(.forbidden) : .allowed(until: nil) }
        let server = try server(policy)
        defer { server.stop() }
        let socket = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/channels@firehose")
        try socket.send(text: #"{"multiplex_subscribe":[{"channel":"/secret","message_sequence":0},{"channel":"/open","message_sequence":0}]}"#)
        XCTAssertEqual(try socket.receive().text, #"{"error":"forbidden","channel":"/secret"}"#)
        try server.publish("/open", "hello")
        try server.publish("/secret", "hidden")
        XCTAssertEqual(try socket.receive().text, #"{"channel":"/open","message":"hello","last_sequence":1}"#)
    }
}
