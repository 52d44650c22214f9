/// `application/x-www-form-urlencoded` query parsing as Rack does it: pairs split on `&`, names
/// and values percent-decoded with `+` as space. Invalid escapes are kept literally.
public enum QueryString {
    /// The value of the last occurrence of `name` (Rack: the last one wins), or `nil`.
    /// Inlinable so it is specialized for the caller's byte collection: unspecialized, it was a
    /// fifth of the server's CPU in a long-poll fan-out.
    @inlinable
    public static func value<C: Collection>(of name: String, in query: C) -> [UInt8]? where C.Element == UInt8 {
        let wanted = Array(name.utf8)
        // Scanned as a buffer when the bytes are contiguous (they are, from a request): walking an
        // array slice by its generic indices cost about 1,100 instructions for one
        // `last_message_sequence=N` on every long-poll request (callgrind), a buffer a fraction.
        if let found = query.withContiguousStorageIfAvailable({ scan($0, for: wanted) }) { return found }
        return scan(query, for: wanted)
    }

    @inlinable
    static func scan<C: Collection>(_ query: C, for wanted: [UInt8]) -> [UInt8]? where C.Element == UInt8 {
        var result: [UInt8]?
        var pairStart = query.startIndex
        while pairStart != query.endIndex {
            var pairEnd = pairStart
            var equals: C.Index?
            while pairEnd != query.endIndex, query[pairEnd] != UInt8(ascii: "&") {
                if equals == nil, query[pairEnd] == UInt8(ascii: "=") { equals = pairEnd }
                pairEnd = query.index(after: pairEnd)
            }
            if pairEnd != pairStart, nameMatches(query[pairStart..<(equals ?? pairEnd)], wanted) {
                result = equals.map { percentDecode(query[query.index(after: $0)..<pairEnd]) } ?? []
            }
            pairStart = pairEnd == query.endIndex ? pairEnd : query.index(after: pairEnd)
        }
        return result
    }

    /// Compares a raw (still encoded) name with `wanted`, decoding only when it has to.
    @inlinable
    static func nameMatches<C: Collection>(_ raw: C, _ wanted: [UInt8]) -> Bool where C.Element == UInt8 {
        // One pass, decoding only if an escape shows up: three passes (two `contains`, then
        // `elementsEqual`) cost about 490 instructions for `last_message_sequence` on every
        // long-poll request (callgrind). A byte that differs before any escape decides: the
        // decoded name has that same literal byte at that place.
        var offset = 0
        for byte in raw {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "+") { return percentDecode(raw) == wanted }
            guard offset < wanted.count, byte == wanted[offset] else { return false }
            offset += 1
        }
        return offset == wanted.count
    }

    @inlinable
    public static func percentDecode<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                if first != bytes.endIndex, let high = hexValue(bytes[first]) {
                    let second = bytes.index(after: first)
                    if second != bytes.endIndex, let low = hexValue(bytes[second]) {
                        out.append(high << 4 | low)
                        index = bytes.index(after: second)
                        continue
                    }
                }
                out.append(byte)
            } else {
                out.append(byte)
            }
            index = bytes.index(after: index)
        }
        return out
    }

    @usableFromInline
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
