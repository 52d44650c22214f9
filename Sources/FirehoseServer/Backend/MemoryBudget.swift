internal import FirehoseCore

/// The bytes all channel buffers of this process hold, against `--max-memory` (spec LIM-6). A
/// buffered message is charged the most it can hold whatever transports read it (`Message`): its
/// body, its longest rewrite (JSON-escaped, or split into SSE `data:` lines; 0 when the body needs
/// neither: the formats then share the body's own bytes; control bytes escape to six times their
/// size), and `overhead(channel:)`. Loop thread only.
final class MemoryBudget {
    /// The objects of a stored message, counted with their allocator headers (16 B each) and
    /// rounded up: the `Message` (about 180 B of fields), its body array's header and ring slot
    /// (40 B), the two `SharedBytes` of its body and rewrite (2 x 56 B), and up to four cached
    /// `EncodedMessage`s with their framing allocations (4 x 96 B): 716 B, charged as 768.
    static let objectOverhead = 768

    /// The fixed part of a message's charge plus, per cache slot, a format's head and tail
    /// (`MessageFormat.maxFramingBytes`) and the escaped channel name a multiplexed frame repeats.
    static func overhead(channel: String) -> Int {
        // Over the contiguous UTF-8 buffer: the generic `String.UTF8View` walk cost about 50
        // instructions per byte on every publish (callgrind).
        var channel = channel
        let escapedChannel = channel.withUTF8 { JSONWriter.escapedLength($0) }
        return objectOverhead + MessageFormat.cacheSlots * (MessageFormat.maxFramingBytes + escapedChannel)
    }

    let limit: Int
    private(set) var used = 0

    init(limit: Int) { self.limit = limit }

    static func cost(of message: Message) -> Int {
        cost(of: message, overhead: overhead(channel: message.channel))
    }

    /// `cost(of:)` with the channel's `overhead` already known.
    static func cost(of message: Message, overhead: Int) -> Int {
        message.body.count &+ message.largestRewriteLength &+ overhead
    }

    /// Whether `delta` more bytes fit (a change that frees bytes always does).
    func admits(_ delta: Int) -> Bool { delta <= 0 || used &+ delta <= limit }

    func add(_ delta: Int) { used &+= delta }
}
