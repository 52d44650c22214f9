/// libFuzzer target: `LenientInteger`, the reader of every sequence a client sends (query
/// parameters, JSON strings and numbers). It must never trap, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLenientInteger(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    _ = LenientInteger.parse(bytes)
    _ = LenientInteger.parse(String(decoding: bytes, as: UTF8.self))
    if size >= 8 {
        var bits: UInt64 = 0
        for byte in bytes.prefix(8) { bits = bits << 8 | UInt64(byte) }
        _ = LenientInteger.truncating(Double(bitPattern: bits))
    }
    return 0
}
