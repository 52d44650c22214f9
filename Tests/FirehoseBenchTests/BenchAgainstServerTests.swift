import Foundation
import XCTest
@testable import FirehoseBench
import FirehoseServer

/// The load generator against a real server on loopback: every mode runs end to end and its
/// checks see what the server really delivered. No timing is asserted.
final class BenchAgainstServerTests: XCTestCase {
    private static let server = LoopbackServer()

    private func target(_ proto: WireProtocol = .firehose) throws -> BenchTarget {
        try BenchTarget(url: "http://127.0.0.1:\(Self.server.port)", proto: proto)
    }

    private func assertDelivered(_ report: BenchReport, expected: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(report.int("expected"), expected, report.json, file: file, line: line)
        XCTAssertEqual(report.int("received"), expected, report.json, file: file, line: line)
        XCTAssertEqual(report.int("lost"), 0, report.json, file: file, line: line)
        XCTAssertEqual(report.int("duplicated"), 0, report.json, file: file, line: line)
        XCTAssertEqual(report.int("reordered"), 0, report.json, file: file, line: line)
        XCTAssertEqual(report.bool("ok"), true, report.json, file: file, line: line)
    }

    func testFanoutOverEveryTransport() throws {
        for transport in SubscriberTransport.allCases {
            var options = DeliveryOptions()
            options.transport = transport
            options.subscribers = 60
            options.channels = 3
            options.messages = 30
            options.rate = 0
            options.publishers = 2
            options.timeout = 30
            options.pids = [getpid()]
            let report = try Bench.fanout(options, target: target())
            assertDelivered(report, expected: 60 * 10)
            XCTAssertNotNil(report["server_cpu_s"])
            // The slowest delivery of all is the slowest delivery of some message number.
            XCTAssertEqual(field("max", of: report["slowest_delivery_per_message_ms"]), field("max", of: report["latency_ms"]), report.json)
            XCTAssertGreaterThan(field("max", of: report["latency_ms"]) ?? 0, 0, report.json)
        }
    }

    private func field(_ key: String, of value: BenchReport.Value?) -> Double? {
        guard case let .object(fields)? = value, case let .double(number)? = fields.first(where: { $0.0 == key })?.1 else { return nil }
        return number
    }

    func testChurnResumesWithoutLoss() throws {
        for transport in SubscriberTransport.allCases {
            var options = DeliveryOptions()
            options.transport = transport
            options.subscribers = 40
            options.channels = 4
            options.rate = 100
            options.messages = 150
            options.dropEvery = 0.2
            options.timeout = 30
            let report = try Bench.fanout(options, target: target(), mode: "churn")
            assertDelivered(report, expected: 40 * 150 / 4)
            XCTAssertGreaterThan(report.int("disconnects") ?? 0, 20, report.json)
        }
    }

    func testLossIsDetectedWhenSubscribersFallBehindTheBuffer() throws {
        // A buffer of one message, 500 publishes a second, and long-poll subscribers that drop
        // their connection every 50 ms: one that reconnects after the channel has moved on by two
        // missed what the buffer no longer holds, and the tool must say so. (A burst without
        // drops no longer shows it: the server serves connections in the order their requests
        // came, so the re-polls of a message are read before the next publish.)
        let small = LoopbackServer(bufferSize: 1)
        var options = DeliveryOptions()
        options.transport = .longpoll
        options.subscribers = 50
        options.channels = 1
        options.rate = 500
        options.messages = 300
        options.dropEvery = 0.05
        options.timeout = 30
        options.drainTimeout = 1
        let report = try Bench.fanout(options, target: BenchTarget(url: "http://127.0.0.1:\(small.port)", proto: .firehose), mode: "churn")
        XCTAssertGreaterThan(report.int("lost") ?? 0, 0, report.json)
        XCTAssertEqual(report.bool("ok"), false, report.json)
    }

    func testThroughputModes() throws {
        for kind in [ThroughputOptions.Kind.publish, .catchup] {
            var options = ThroughputOptions()
            options.kind = kind
            options.connections = 4
            options.duration = 0.5
            let report = try Bench.throughput(options, target: target())
            XCTAssertGreaterThan(report.int("requests") ?? 0, 10, report.json)
            XCTAssertEqual(report.int("errors"), 0, report.json)
        }
    }

    func testIdleReadsTheServersMemory() throws {
        for transport in SubscriberTransport.allCases {
            var options = IdleOptions()
            options.transport = transport
            options.connections = 100
            options.pid = getpid()
            options.settle = 0.2
            let report = try Bench.idle(options, target: target())
            XCTAssertEqual(report.int("open_at_measurement"), 100, report.json)
            XCTAssertGreaterThan(report.int("rss_after_kb") ?? 0, 0, report.json)
        }
    }

    func testRefusedConnectionsAreReportedNotHung() throws {
        var options = DeliveryOptions()
        options.subscribers = 5
        options.messages = 1
        options.timeout = 1
        let report = try Bench.fanout(options, target: BenchTarget(url: "http://127.0.0.1:1", proto: .firehose))
        XCTAssertEqual(report.bool("ok"), false)
        XCTAssertGreaterThan(report.int("connect_errors") ?? 0, 0, report.json)
    }
}

extension BenchReport {
    func int(_ key: String) -> Int? {
        if case let .int(value)? = self[key] { return value }
        return nil
    }

    func bool(_ key: String) -> Bool? {
        if case let .bool(value)? = self[key] { return value }
        return nil
    }
}

/// A memory-backend server on a free loopback port, its loop on a background thread for the
/// rest of the test process.
final class LoopbackServer: @unchecked Sendable {
    let port: Int
    private let server: FirehoseServer

    init(bufferSize: Int = 100) {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.logLevel = .error
        configuration.defaultBufferSize = bufferSize
        server = try! FirehoseServer(configuration: configuration)
        port = server.boundPort
        Thread { [self] in server.run() }.start()
    }
}
