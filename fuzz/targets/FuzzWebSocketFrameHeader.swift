/// libFuzzer target: `WebSocketProtocol.frameHeader`, read on every client frame before wslay
/// sees it. No trap; a header it returns lies within the bytes given and says what they say.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketFrameHeader(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let header = WebSocketProtocol.frameHeader(bytes) else { return 0 }
    precondition(header.headerLength >= 2 && header.headerLength <= 14 && header.headerLength <= size, "header length \(header.headerLength) of \(size)")
    precondition(header.opcode == bytes[0] & 0x0F && header.fin == (bytes[0] & 0x80 != 0))
    _ = header.totalLength
    _ = header.isControl
    return 0
}
