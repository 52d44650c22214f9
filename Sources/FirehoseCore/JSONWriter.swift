/// Writes JSON exactly as Ruby's `JSON.generate` does for Firehose frames, straight into bytes:
/// `"` and `\` escaped; `\b \t \n \f \r` by name; other control bytes as `\u00xx` (lowercase hex);
/// 0x7F, `/`, U+2028/U+2029 and all other UTF-8 left raw. Input must already be valid UTF-8.
public struct JSONWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw<C: Collection>(_ literal: C) where C.Element == UInt8 {
        bytes.append(contentsOf: literal)
    }

    /// Appends a quoted, escaped JSON string.
    public mutating func string<C: Collection>(_ value: C) where C.Element == UInt8 {
        bytes.append(UInt8(ascii: "\""))
        JSONWriter.appendEscaped(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string($0) }
    }

    public mutating func integer(_ value: Int) {
        JSONWriter.appendDecimal(value, to: &bytes)
    }

    /// The bytes `value` takes once escaped, without quotes; used to size buffers in one pass.
    public static func escapedLength<C: Collection>(_ value: C) -> Int where C.Element == UInt8 {
        if let length = value.withContiguousStorageIfAvailable({ escapedLength(UnsafeRawBufferPointer($0)) }) { return length }
        var length = 0
        for byte in value { length &+= escapedLength(of: byte) }
        return length
    }

    /// `escapedLength` over contiguous bytes, eight at a time: a word with no control byte, `"`
    /// or `\\` (the usual case) adds 8. Every publish measures its body this way; the byte loop
    /// it replaces cost about 15 instructions per byte there, and a generic caller in another
    /// module about 30 (callgrind, `ws100ch`-like load).
    public static func escapedLength(_ bytes: UnsafeRawBufferPointer) -> Int {
        var length = 0
        var index = 0
        let count = bytes.count
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            // A byte is flagged when below 0x20, or equal to `"` or `\\` (a zero byte after xor).
            let below = (word &- ones &* 0x20) & ~word & highs
            let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
            let zero = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash) & highs
            if below | zero == 0 {
                length &+= 8
            } else {
                for k in index..<(index + 8) { length &+= escapedLength(of: bytes[k]) }
            }
            index &+= 8
        }
        while index < count {
            length &+= escapedLength(of: bytes[index])
            index &+= 1
        }
        return length
    }

    @inline(__always)
    private static func escapedLength(of byte: UInt8) -> Int {
        if byte >= 0x20 { return byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") ? 2 : 1 }
        switch byte {
        case 0x08, 0x09, 0x0A, 0x0C, 0x0D: return 2
        default: return 6
        }
    }

    public static func appendEscaped<C: Collection>(_ value: C, to out: inout [UInt8]) where C.Element == UInt8 {
        for byte in value {
            if byte >= 0x20 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
                continue
            }
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            default:
                out.append(UInt8(ascii: "u")); out.append(UInt8(ascii: "0")); out.append(UInt8(ascii: "0"))
                out.append(hexDigits[Int(byte >> 4)]); out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
    }

    public static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value == 0 { out.append(UInt8(ascii: "0")); return }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            if value < 0 { out.append(UInt8(ascii: "-")) }
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
