/// Base64 for JWTs (RFC 7515 §2: the URL-safe alphabet, no padding) and, for the WebSocket
/// handshake, the standard alphabet with padding. Written here rather than taken from Foundation
/// so that the module needs no Foundation for its text handling.
public enum Base64URL {
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0...63 for a URL-safe digit, 0xFF for anything else (including `=`, `+`, `/`).
    private static let urlValues: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, digit) in urlAlphabet.enumerated() { table[Int(digit)] = UInt8(value) }
        return table
    }()

    /// URL-safe, unpadded.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: encode(bytes, alphabet: urlAlphabet, pad: false), as: UTF8.self)
    }

    /// Standard alphabet, padded (RFC 4648 §4), as HTTP headers such as `Sec-WebSocket-Accept` use.
    public static func encodeStandard<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: encode(bytes, alphabet: standardAlphabet, pad: true), as: UTF8.self)
    }

    private static func encode<C: Collection>(_ bytes: C, alphabet: [UInt8], pad: Bool) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next(), b2 = iterator.next()
            let group = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            if b1 != nil { out.append(alphabet[Int(group >> 6 & 63)]) } else if pad { out.append(UInt8(ascii: "=")) }
            if b2 != nil { out.append(alphabet[Int(group & 63)]) } else if pad { out.append(UInt8(ascii: "=")) }
        }
        return out
    }

    /// Decodes URL-safe base64 strictly: no padding, no whitespace, no other alphabet, and the
    /// unused low bits of the last digit must be zero. Strictness makes every token have exactly one
    /// spelling, so a token cannot be altered into a different string that still verifies.
    /// Returns nil for anything else.
    public static func decode<C: Collection>(_ digits: C) -> [UInt8]? where C.Element == UInt8 {
        let count = digits.count
        // A lone final digit carries only 6 bits: never the end of a whole byte.
        guard count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for digit in digits {
            let value = urlValues[Int(digit)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        guard accumulator == 0 else { return nil }
        return out
    }
}
