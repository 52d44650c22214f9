/// The paths the server answers itself rather than as channels. Firehose reserved the
/// `@firehose` suffix for these; a channel cannot be named so.
enum ReservedPaths {
    /// The reference's JSON metrics document.
    static let metrics = Array("/metrics@firehose".utf8)
    /// Readiness as JSON (see `HealthCheck`): an extension; the reference had only `HEAD`.
    static let health = Array("/health@firehose".utf8)
    /// Any path containing this multiplexes (the reference matches it anywhere in the path).
    static let multiplexMarker = Array("channels@firehose".utf8)

    static func isMetrics(_ path: ArraySlice<UInt8>) -> Bool {
        same(path, metrics)
    }

    static func isHealth(_ path: ArraySlice<UInt8>) -> Bool {
        same(path, health)
    }

    /// Whether `path` is exactly `bytes`. The lengths first: most paths are channels, and the
    /// generic comparison walked them byte by byte on every request (about 60 instructions each
    /// of the four reserved paths checked, callgrind).
    static func same(_ path: ArraySlice<UInt8>, _ bytes: [UInt8]) -> Bool {
        path.count == bytes.count && path.elementsEqual(bytes)
    }

    static func isMultiplex(_ path: ArraySlice<UInt8>) -> Bool {
        let marker = multiplexMarker
        guard path.count >= marker.count else { return false }
        var start = path.startIndex
        while start + marker.count <= path.endIndex {
            if path[start..<(start + marker.count)].elementsEqual(marker) { return true }
            start += 1
        }
        return false
    }
}
