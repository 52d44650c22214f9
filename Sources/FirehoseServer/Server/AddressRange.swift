#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address or CIDR block (`10.0.0.0/8`, `::1`), for `--trusted-proxies`.
struct AddressRange: Sendable {
    private let bytes: [UInt8]
    private let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let bytes = AddressRange.parse(first) else { return nil }
        let bits = bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...bits).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = bits
        }
        self.bytes = bytes
    }

    func contains(_ address: String) -> Bool {
        guard let candidate = AddressRange.parse(address), candidate.count == bytes.count else { return false }
        var remaining = prefixLength
        for index in 0..<bytes.count where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if candidate[index] & mask != bytes[index] & mask { return false }
            remaining -= take
        }
        return true
    }

    /// 4 or 16 bytes; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) counts as IPv4.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}

/// The client address an access-log line names: the socket's peer, or, when the peer is a
/// trusted proxy, the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
struct ClientAddress {
    let trusted: [AddressRange]

    func resolve(peer: String, forwardedFor: String?) -> String {
        guard let forwardedFor, isTrusted(peer) else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
        for hop in hops.reversed() where !hop.isEmpty {
            if !isTrusted(hop) { return hop }
        }
        return hops.first ?? peer
    }

    private func isTrusted(_ address: String) -> Bool {
        trusted.contains { $0.contains(address) }
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
