/// Integer parsing with the leniency of Ruby's `String#to_i`, which is what Firehose clients have
/// always been able to rely on: leading white space, an optional sign, then the longest run of
/// digits (underscores allowed between digits); anything else ends the number, and no digits at
/// all is 0. Out-of-range values saturate instead of trapping.
public enum LenientInteger {
    @inlinable
    public static func parse<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 {
        var index = bytes.startIndex
        while index != bytes.endIndex, isSpace(bytes[index]) { index = bytes.index(after: index) }
        var negative = false
        if index != bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index = bytes.index(after: index)
        }
        var value = 0
        var overflowed = false
        var previousWasDigit = false
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                if !overflowed {
                    let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
                    if o1 || o2 { overflowed = true } else { value = sum }
                }
                previousWasDigit = true
            } else if byte == UInt8(ascii: "_"), previousWasDigit {
                // Ruby accepts one underscore between digits: "1_000".to_i == 1000.
                let next = bytes.index(after: index)
                guard next != bytes.endIndex, bytes[next] >= UInt8(ascii: "0"), bytes[next] <= UInt8(ascii: "9") else { break }
                previousWasDigit = false
            } else {
                break
            }
            index = bytes.index(after: index)
        }
        if overflowed { return negative ? Int.min : Int.max }
        return negative ? -value : value
    }

    public static func parse(_ string: String) -> Int {
        parse(Array(string.utf8))
    }

    /// Truncates a JSON number toward zero as Ruby's `Float#to_i` does, saturating at the Int range.
    public static func truncating(_ double: Double) -> Int {
        if double.isNaN { return 0 }
        if double >= 9.2e18 { return Int.max }
        if double <= -9.2e18 { return Int.min }
        return Int(double.rounded(.towardZero))
    }

    @inlinable
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}
