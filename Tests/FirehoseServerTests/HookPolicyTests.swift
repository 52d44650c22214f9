import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// A real authorization hook: a Python HTTP server started by the test, answering by the channel
/// named in the JSON body and recording what it was sent.
final class HookServer: @unchecked Sendable {
    let port: Int
    private let process: Process

    private static let script = #"""
import json, sys, time, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
seen = []
lock = threading.Lock()
class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        with lock: self.reply(200, json.dumps(seen).encode())
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock: seen.append({"body": body, "cookie": self.headers.get("Cookie"),
                                "authorization": self.headers.get("Authorization"), "origin": self.headers.get("Origin")})
        channel = body["channel"]
        if channel.startswith("/slow"): time.sleep(3)
        status = 200 if channel.startswith(("/allow", "/slow")) else 401 if channel.startswith("/unauth") \
            else 403 if channel.startswith("/deny") else 500
        self.reply(status)
server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

    init() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.script]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw HTTPClientConnection.Failure.io("hook server did not start") }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw HTTPClientConnection.Failure.io("hook server printed no port")
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/authorize" }

    /// What the hook has been sent so far.
    func seen() throws -> [[String: Any]] {
        let client = try HTTPClientConnection(host: "127.0.0.1", port: port)
        let response = try client.request(method: "GET", target: "/")
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

/// `--auth-url` (spec/auth.md): the hook's answers become the client's, the original credentials
/// reach it, decisions are cached when asked, a silent hook gives 503 after the timeout, and a
/// slow hook delays only the requests waiting for it.
final class HookPolicyTests: XCTestCase {
    private func server(hook: HookServer, scope: AuthConfiguration.Scope = .all, timeout: Double = 1, cacheTTL: Double = 0) throws -> TestServer {
        try TestServer { configuration in
            configuration.auth.hookURL = hook.url
            configuration.auth.scope = scope
            configuration.auth.hookTimeout = timeout
            configuration.auth.hookCacheTTL = cacheTTL
        }
    }

    func testHookAnswersBecomeTheClientsAndCredentialsAreForwarded() throws {
        let hook = try HookServer()
        defer { hook.stop() }
        let server = try server(hook: hook)
        defer { server.stop() }
        let client = try server.connect()
        let credentials = [("Cookie", "session=abc; theme=dark"), ("Authorization", "Token xyz"), ("Origin", "http://app.example")]
        XCTAssertEqual(try client.request(method: "PUT", target: "/allow/a?x=1", headers: credentials, body: Array("m".utf8)).status, 202)
        let unauth = try client.request(method: "GET", target: "/unauth")
        XCTAssertEqual(unauth.status, 401)
        XCTAssertEqual(unauth.header("WWW-Authenticate"), "Bearer")
        XCTAssertEqual(try client.request(method: "GET", target: "/deny").status, 403)
        let broken = try client.request(method: "GET", target: "/broken")
        XCTAssertEqual(broken.status, 503)
        let first = try XCTUnwrap(try hook.seen().first)
        XCTAssertEqual(first["cookie"] as? String, "session=abc; theme=dark")
        XCTAssertEqual(first["authorization"] as? String, "Token xyz")
        XCTAssertEqual(first["origin"] as? String, "http://app.example")
        let body = try XCTUnwrap(first["body"] as? [String: String])
        XCTAssertEqual(body, ["action": "publish", "channel": "/allow/a", "method": "PUT", "path": "/allow/a?x=1", "client": "127.0.0.1"])
        XCTAssertEqual(try hook.seen().count, 4)
    }

    func testSilentHookGives503AfterTheTimeoutWhileOtherRequestsGoOn() throws {
        let hook = try HookServer()
        defer { hook.stop() }
        let server = try server(hook: hook, scope: .publish, timeout: 1)
        defer { server.stop() }
        let slow = try server.connect(timeout: 5)
        let started = Date()
        try slow.send(method: "PUT", target: "/slow", headers: [], body: Array("s".utf8))
        // While the hook sits on /slow, other clients are answered at once.
        let other = try server.connect()
        for index in 0..<5 {
            let asked = Date()
            XCTAssertEqual(try other.request(method: "PUT", target: "/allow/\(index)", body: Array("a".utf8)).status, 202)
            XCTAssertLessThan(Date().timeIntervalSince(asked), 0.5, "a request behind a slow hook call")
        }
        let answer = try slow.readResponse()
        XCTAssertEqual(answer.status, 503)
        let waited = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(waited, 0.9)
        XCTAssertLessThan(waited, 2.5)
    }

    func testDecisionsAreCachedPerCredentialsChannelAndAction() throws {
        let hook = try HookServer()
        defer { hook.stop() }
        let server = try server(hook: hook, scope: .all, cacheTTL: 60)
        defer { server.stop() }
        let client = try server.connect()
        for _ in 0..<3 {
            XCTAssertEqual(try client.request(method: "PUT", target: "/allow/c", headers: [("Cookie", "s=1")], body: [0x61]).status, 202)
            XCTAssertEqual(try client.request(method: "GET", target: "/deny/c", headers: [("Cookie", "s=1")]).status, 403)
        }
        XCTAssertEqual(try hook.seen().count, 2, "one question per (credentials, channel, action)")
        XCTAssertEqual(try client.request(method: "PUT", target: "/allow/c", headers: [("Cookie", "s=2")], body: [0x61]).status, 202)
        XCTAssertEqual(try client.request(method: "GET", target: "/allow/c?last_message_sequence=0", headers: [("Cookie", "s=1")]).status, 200)
        XCTAssertEqual(try hook.seen().count, 4, "other credentials and another action are asked again")
    }
}
