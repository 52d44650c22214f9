import FirehoseAuth
import FirehoseCore
import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// The configured token policy on a real server (spec/auth.md): what each `--auth` scope guards,
/// the audience and issuer checks, and refusing to start with a bad secret. Tokens, sources,
/// patterns and answers per transport are covered by compat/test_auth.py.
final class TokenPolicyTests: XCTestCase {
    private let secret = Array("0123456789abcdef0123456789abcdef".utf8)

    private func server(scope: AuthConfiguration.Scope?, _ configure: (inout AuthConfiguration) -> Void = { _ in }) throws -> TestServer {
        try TestServer { configuration in
            configuration.auth.jwtSecret = secret
            configuration.auth.scope = scope
            configure(&configuration.auth)
        }
    }

    private func token(publish: [String] = [], subscribe: [String] = [], audience: String? = nil, issuer: String? = nil) -> String {
        JWTSigner.token(secret: secret, publish: publish, subscribe: subscribe, now: Date().timeIntervalSince1970,
                        audience: audience, issuer: issuer)
    }

    private func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

    func testDefaultScopeGuardsPublishingOnly() throws {
        let server = try server(scope: nil)
        defer { server.stop() }
        let client = try server.connect()
        XCTAssertEqual(try client.request(method: "PUT", target: "/a", body: Array("x".utf8)).status, 401)
        XCTAssertEqual(try client.request(method: "PUT", target: "/a", headers: bearer(token(subscribe: ["/a"])), body: Array("x".utf8)).status, 403)
        XCTAssertEqual(try client.request(method: "PUT", target: "/a", headers: bearer(token(publish: ["/a"])), body: Array("x".utf8)).status, 202)
        // Subscribing is open, even with a token that is not valid.
        let open = try client.request(method: "GET", target: "/a?last_message_sequence=0", headers: bearer("junk"))
        XCTAssertEqual(open.status, 200)
        XCTAssertEqual(String(decoding: open.body, as: UTF8.self), #"{"message":"x","last_sequence":1}"#)
    }

    func testSubscribeScopeLeavesPublishingOpen() throws {
        let server = try server(scope: .subscribe)
        defer { server.stop() }
        let client = try server.connect()
        XCTAssertEqual(try client.request(method: "PUT", target: "/b", body: Array("y".utf8)).status, 202)
        XCTAssertEqual(try client.request(method: "GET", target: "/b").status, 401)
        XCTAssertEqual(try client.request(method: "GET", target: "/b", headers: bearer(token(publish: ["/b"]))).status, 403)
        XCTAssertEqual(try client.request(method: "GET", target: "/b?access_token=\(token(subscribe: ["/b"]))").status, 200)
    }

    func testAudienceAndIssuerAreChecked() throws {
        let server = try server(scope: .publish) { auth in
            auth.audience = "firehose"
            auth.issuer = "https://issuer.example"
        }
        defer { server.stop() }
        let client = try server.connect()
        let put = { (token: String) in try client.request(method: "PUT", target: "/c", headers: self.bearer(token), body: [0x61]).status }
        XCTAssertEqual(try put(token(publish: ["/c"], audience: "firehose", issuer: "https://issuer.example")), 202)
        XCTAssertEqual(try put(token(publish: ["/c"], audience: "other", issuer: "https://issuer.example")), 401)
        XCTAssertEqual(try put(token(publish: ["/c"], audience: "firehose", issuer: "https://evil.example")), 401)
        XCTAssertEqual(try put(token(publish: ["/c"])), 401)
    }

    /// A bad key stops the start with a sentence naming the problem.
    func testBadKeysRefuseToStart() {
        for (secret, expected) in [(Array("short".utf8), "at least 32 bytes"),
                                   (Array("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n".utf8), "looks like a PEM key")] {
            var configuration = ServerConfiguration()
            configuration.host = "127.0.0.1"
            configuration.port = 0
            configuration.auth.jwtSecret = secret
            XCTAssertThrowsError(try FirehoseServer(configuration: configuration)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        var configuration = ServerConfiguration()
        configuration.auth.jwtPublicKeysPEM = ["not a key"]
        XCTAssertThrowsError(try FirehoseServer(configuration: configuration))
        configuration = ServerConfiguration()
        configuration.auth.scope = .all
        XCTAssertThrowsError(try FirehoseServer(configuration: configuration)) { error in
            XCTAssertTrue("\(error)".contains("--auth all needs a key"), "\(error)")
        }
        configuration = ServerConfiguration()
        configuration.auth.jwtSecret = self.secret
        configuration.auth.leeway = -1
        XCTAssertThrowsError(try FirehoseServer(configuration: configuration)) { error in
            XCTAssertTrue("\(error)".contains("--jwt-leeway -1.0 is out of range (0 to 86400)"), "\(error)")
        }
    }

    /// A token expiring while its WebSocket is open closes it with 1008 at the expiry, and the
    /// expiry queue lets go of the socket.
    func testWebSocketClosesAtTokenExpiry() throws {
        let server = try server(scope: .all)
        defer { server.stop() }
        let expiry = (Date().timeIntervalSince1970 + 1.5).rounded(.down)
        let token = JWTSigner.hs256(claims: ["subscribe": .array([.string("/w")]), "exp": .number(expiry)], secret: secret)
        let socket = try WebSocketClientConnection(host: "127.0.0.1", port: server.port, target: "/w?access_token=\(token)")
        XCTAssertEqual(server.onLoop { server.server.context.credentialExpiry.count }, 1)
        try socket.send(text: #"{"last_message_sequence":0}"#)
        let frame = try socket.receive(controlFrames: true)
        XCTAssertEqual(frame.opcode, 8, "a close frame")
        XCTAssertEqual(Array(frame.payload.prefix(2)), [0x03, 0xF0], "code 1008")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince1970, expiry - 0.01)
        XCTAssertTrue(server.eventually { _ in server.onLoop { server.server.context.credentialExpiry.count } == 0 })
    }
}
