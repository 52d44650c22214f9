import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` on a free loopback port, owned by one test; `make test` installs it.
final class RedisProcess: @unchecked Sendable {
    let port: Int
    private let directory: String
    private let persistent: Bool
    private let extraArguments: [String]
    private var process: Process?

    /// `persistent`: append-only file fsynced on every write, so a killed server restarts with its data.
    /// `arguments`: more `redis-server` options (`--requirepass secret`).
    init(persistent: Bool = false, arguments: [String] = []) throws {
        port = try Self.freePort()
        directory = NSTemporaryDirectory() + "firehose-redis-\(port)-\(UInt32.random(in: 0...UInt32.max))"
        self.persistent = persistent
        extraArguments = arguments
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try start()
    }

    var url: String { "redis://127.0.0.1:\(port)/0" }

    func start() throws {
        let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else { throw RESPClient.Failure.io("redis-server is not installed (make test installs it)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        var arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory, "--daemonize", "no", "--loglevel", "warning"]
        arguments += persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        process.arguments = arguments + extraArguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            // With --requirepass, PING answers NOAUTH: the server is up all the same.
            if let client = try? RESPClient(port: port), let reply = try? client.command("PING"),
               reply == .status("PONG") || reply.isNoAuth { return }
            usleep(20_000)
        }
        throw RESPClient.Failure.io("redis-server did not start on port \(port)")
    }

    /// SIGKILL: the server vanishes mid-stream, as in a crash.
    func kill() {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func pause() { if let process { Glibc.kill(process.processIdentifier, SIGSTOP) } }
    func resume() { if let process { Glibc.kill(process.processIdentifier, SIGCONT) } }

    func stop() {
        resume()
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func client() throws -> RESPClient { try RESPClient(port: port) }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw RESPClient.Failure.io("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A blocking RESP client for tests: issues exactly the commands a test names.
final class RESPClient {
    enum Failure: Error { case io(String) }

    indirect enum Reply: Equatable {
        case status(String), error(String), integer(Int), bulk([UInt8]?), array([Reply])

        var text: String? { if case let .bulk(bytes?) = self { String(decoding: bytes, as: UTF8.self) } else { nil } }
        var isNoAuth: Bool { if case let .error(message) = self { message.hasPrefix("NOAUTH") } else { false } }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(fd)
            throw Failure.io("cannot connect to Redis on \(port)")
        }
        var value = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ arguments: [[UInt8]]) throws {
        var out = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments { out += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10] }
        let written = out.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == out.count else { throw Failure.io("short write") }
    }

    @discardableResult
    func command(_ arguments: String...) throws -> Reply {
        try send(arguments.map { Array($0.utf8) })
        return try read()
    }

    func read() throws -> Reply {
        let line = try readLine()
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch line.first {
        case UInt8(ascii: "+"): return .status(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"): return .integer(Int(rest) ?? 0)
        case UInt8(ascii: "$"):
            let length = Int(rest) ?? -1
            guard length >= 0 else { return .bulk(nil) }
            let bytes = try readBytes(length + 2)
            return .bulk(Array(bytes.prefix(length)))
        case UInt8(ascii: "*"):
            let count = Int(rest) ?? -1
            guard count >= 0 else { return .array([]) }
            return .array(try (0..<count).map { _ in try read() })
        default: throw Failure.io("bad reply \(line)")
        }
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let end = buffer.firstIndex(of: 10), end > 0, buffer[end - 1] == 13 {
                let line = Array(buffer[..<(end - 1)])
                buffer.removeFirst(end + 1)
                return line
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw Failure.io("Redis connection closed or timed out") }
        buffer += chunk[..<count]
    }
}
