#if canImport(Glibc)
import Glibc
#endif

/// One parsed request, with only what the protocol reads kept: the raw target, the headers the
/// handlers look at, and the de-chunked body.
struct HTTPRequest {
    var method: String = ""
    /// The request target exactly as sent (no decoding, no normalisation: Firehose channel names are raw).
    var target: [UInt8] = []
    var versionMajor = 1
    var versionMinor = 1
    var keepAlive = true
    var isUpgrade = false
    var headers: [(HTTPRequest.Header, String)] = []
    var body: [UInt8] = []

    /// The request headers that some handler reads; all others are only counted against the limit.
    enum Header: CaseIterable {
        case origin, cacheControl, bufferSize, persist, deprecated, expect, upgrade, connection
        case secWebSocketKey, secWebSocketVersion, contentLength
        case authorization, cookie, accept, lastEventID, ifNoneMatch
        case xForwardedFor

        var lowercasedName: String {
            switch self {
            case .origin: "origin"
            case .cacheControl: "cache-control"
            case .bufferSize: "x-firehose-buffer-size"
            case .persist: "x-firehose-persist"
            case .deprecated: "x-firehose-deprecated"
            case .expect: "expect"
            case .upgrade: "upgrade"
            case .connection: "connection"
            case .secWebSocketKey: "sec-websocket-key"
            case .secWebSocketVersion: "sec-websocket-version"
            case .contentLength: "content-length"
            case .authorization: "authorization"
            case .cookie: "cookie"
            case .accept: "accept"
            case .lastEventID: "last-event-id"
            case .ifNoneMatch: "if-none-match"
            case .xForwardedFor: "x-forwarded-for"
            }
        }

        /// The header with this lowercased name. A length check and a byte compare over sixteen
        /// names: hashing the name byte by byte cost more, once per header line of every request.
        static func named<Name: Collection>(_ lowercased: Name) -> Header? where Name.Element == UInt8 {
            let count = lowercased.count
            for (header, name) in table where name.count == count {
                let same = lowercased.withContiguousStorageIfAvailable { candidate in
                    name.withUnsafeBufferPointer { memcmp($0.baseAddress!, candidate.baseAddress!, count) == 0 }
                } ?? name.elementsEqual(lowercased)
                if same { return header }
            }
            return nil
        }

        private static let table: [(Header, [UInt8])] = allCases.map { ($0, Array($0.lowercasedName.utf8)) }
    }

    /// The last value of `header`, or nil.
    func value(_ header: Header) -> String? {
        headers.last { $0.0 == header }?.1
    }

    /// The path: the target up to `?`.
    var path: ArraySlice<UInt8> {
        guard let question = target.firstIndex(of: UInt8(ascii: "?")) else { return target[...] }
        return target[..<question]
    }

    /// The query string after `?`, without a fragment.
    var query: ArraySlice<UInt8> {
        guard let question = target.firstIndex(of: UInt8(ascii: "?")) else { return [] }
        let rest = target[(question + 1)...]
        return rest.firstIndex(of: UInt8(ascii: "#")).map { rest[..<$0] } ?? rest
    }

    var pathString: String { String(decoding: path, as: UTF8.self) }
}
