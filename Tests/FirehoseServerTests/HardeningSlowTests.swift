import Foundation
import XCTest
@testable import FirehoseServer
import FirehoseClient

/// The costlier hardening checks (megabytes of traffic, RSS measured): `make test-hardening`
/// runs them (and CI through it); `make unit-test` skips this class to stay fast.
final class HardeningSlowTests: XCTestCase {
    private func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        return (Int(text.split(separator: " ")[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// MTH / spec/limits.md LIM-5: 2,000 channels named with 4 KB each, and ten clients that
    /// pipeline metrics requests and never read. Before: one document per request (8 MB each
    /// here). Now: one per second, shared, listing the busiest `--metrics-channels`.
    func testMetricsForNonReadingClientsIsBuiltOnceAndShared() throws {
        let server = try TestServer { $0.hardening.metricsChannels = 500; $0.idleTimeout = 30 }
        defer { server.stop() }
        let publisher = try server.connect()
        let padding = String(repeating: "n", count: 4000)
        for i in 0..<2000 { try server.publish("/\(padding)\(i)", "x", on: publisher) }
        let builtBefore = server.onLoop { server.server.context.metrics.documentsBuilt }
        let before = residentBytes()
        var readers: [HTTPClientConnection] = []
        let request = Array("GET /metrics@firehose HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for _ in 0..<10 {
            let client = try server.connect()
            var small: Int32 = 4096
            setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            try client.send(Array([[UInt8]](repeating: request, count: 50).joined()))
            readers.append(client)
        }
        // Every client has been answered at least once (its output is queued) once the loop
        // turns for a plain request.
        XCTAssertEqual(try server.connect().request(method: "HEAD", target: "/").status, 200)
        let built = server.onLoop { server.server.context.metrics.documentsBuilt } - builtBefore
        let grown = residentBytes() - before
        XCTAssertLessThanOrEqual(built, 3, "\(built) documents built for 10 clients")
        if !underAddressSanitizer { XCTAssertLessThan(grown, 40 * 1024 * 1024, "RSS grew by \(grown) bytes") }
        // A reading client gets a bounded document: per bucket at most the 500 busiest channels
        // (the publishes may straddle two buckets), all 2,000 counted.
        let document = try server.connect(timeout: 10).request(method: "GET", target: "/metrics@firehose")
        XCTAssertEqual(document.status, 200)
        let buckets = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(document.body)) as? [[String: Any]])
        var active = 0
        for bucket in buckets {
            XCTAssertLessThanOrEqual((bucket["channels"] as? [String: Any])?.count ?? 0, 500)
            active += ((bucket["global"] as? [String: Any])?["active_channels"] as? Int) ?? 0
        }
        XCTAssertGreaterThanOrEqual(active, 2000)
        readers.removeAll()
    }
}
