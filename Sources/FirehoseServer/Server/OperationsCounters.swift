internal import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// Counters for the admin `/metrics` that `MetricsRecorder` (the reference's JSON) does not keep.
/// Plain integers: every write is on the loop thread, so no atomics (see `DeliveryStats`).
final class OperationsCounters {
    /// Why a request was refused (`firehose_requests_rejected_total{reason}`).
    enum Rejection: Int, CaseIterable {
        case badRequest = 0, payloadTooLarge, headersTooLarge, methodNotAllowed, invalidChannel, denied

        var label: String {
            switch self {
            case .badRequest: "bad_request"
            case .payloadTooLarge: "payload_too_large"
            case .headersTooLarge: "headers_too_large"
            case .methodNotAllowed: "method_not_allowed"
            case .invalidChannel: "invalid_channel"
            case .denied: "denied"
            }
        }
    }

    private(set) var rejected = [Int](repeating: 0, count: Rejection.allCases.count)
    /// WebSocket and stream clients cut off for not reading.
    var slowConsumersDisconnected = 0
    /// Publishes answered 503 (the backend could not store them).
    var publishErrors = 0
    let publishDuration = DurationHistogram()

    func rejected(_ reason: Rejection) { rejected[reason.rawValue] += 1 }
}

/// Seconds from a publish's arrival to the backend's answer, as a Prometheus histogram.
final class DurationHistogram {
    /// Upper bounds in seconds: memory publishes take microseconds, Redis ones a round trip
    /// (about 0.1-1 ms on loopback), a Redis in trouble up to its timeout (2 s by default).
    static let bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
    /// Observations per bucket (not cumulative; the exposition sums them), the last one +Inf.
    private(set) var counts = [Int](repeating: 0, count: bounds.count + 1)
    private(set) var sum: Double = 0
    private(set) var count = 0

    func observe(_ seconds: Double) {
        var index = 0
        while index < Self.bounds.count, seconds > Self.bounds[index] { index += 1 }
        counts[index] += 1
        sum += seconds
        count += 1
    }

    /// A precise monotonic clock (`EventLoop.now()` is too coarse for microsecond publishes):
    /// about 20 ns per read through the vDSO.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
