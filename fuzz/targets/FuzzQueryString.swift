/// libFuzzer target: `QueryString`, which reads `last_message_sequence` and `subscribe` from
/// every request target. No trap; decoding never grows the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryString(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for name in ["subscribe", "last_message_sequence", ""] {
        if let value = QueryString.value(of: name, in: bytes) { precondition(value.count <= size) }
    }
    precondition(QueryString.percentDecode(bytes).count <= size)
    return 0
}
