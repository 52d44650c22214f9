/// libFuzzer target: `JSONParser`, which reads every POST multiplex body and WebSocket command.
/// It must never trap or recurse past its depth limit, and a document it accepts must be
/// accepted again, with the member cap applied, or refused for too many members only.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let full = try? JSONParser.parse(bytes)
    do {
        let capped = try JSONParser.parse(bytes, maxMembers: 3)
        precondition(capped == full, "a capped parse disagrees with the full one")
    } catch {
        precondition(full == nil || error.reason == JSONParser.tooManyMembers, "capped parse failed: \(error.reason)")
    }
    return 0
}
