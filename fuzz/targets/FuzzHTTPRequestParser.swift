/// libFuzzer target: `HTTPRequestParser` driven as `HTTPConnection` drives it, through the real
/// http-parser callbacks: complete requests are taken one after another until the bytes run out
/// or the parser refuses them. The input is fed in two pieces (split where its first byte says)
/// to exercise requests that straddle reads. No trap, no limit exceeded.
final class FuzzDelegate: HTTPRequestParserDelegate {
    func requestHeadersComplete(_ request: HTTPRequest) -> HeadersVerdict { .proceed }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = 1 + Int(bytes[0]) % size
    // Made per input and kept alive until the parser is done (the parser holds it unowned).
    let delegate = FuzzDelegate()
    let parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 4096)
    parser.delegate = delegate
    defer { withExtendedLifetime(delegate) {} }
    var pending: [UInt8] = []
    for piece in [bytes[1..<split], bytes[split...]] {
        pending += piece
        var rounds = 0
        while !pending.isEmpty, rounds < 10_000 {
            rounds += 1
            let outcome = pending.withUnsafeBytes { parser.execute($0) }
            switch outcome {
            case let .needMore(consumed):
                precondition(consumed <= pending.count)
                pending.removeFirst(consumed)
                if consumed == 0 { break }
                continue
            case let .complete(consumed):
                precondition(consumed <= pending.count)
                pending.removeFirst(consumed)
                let request = parser.takeRequest()
                precondition(request.body.count <= 4096, "a body over the limit was accepted")
                if request.isUpgrade { return 0 }  // the connection stops parsing HTTP here
                continue
            case .failed:
                return 0
            }
            break
        }
    }
    return 0
}
