internal import FirehoseCore

/// The bytes all channel buffers of this process hold, against `--max-memory` (spec LIM-6). A
/// buffered message is charged its body, one JSON encoding of it (what its first delivery builds:
/// control bytes escape to six times their size, so this is not the body again) and a fixed
/// overhead for the `Message`, its buffer slot and the encoding's header. Further encodings a
/// message may cache (up to `MessageFormat.cacheSlots`, for messages read by several transports)
/// are not charged. Loop thread only.
final class MemoryBudget {
    /// The `Message` object, its slot in the ring, and an encoding's frame around the body: 64 B
    /// of object headers and fields, 16 B of slot, 48 B of `{"message":...,"last_sequence":N}`.
    static let overheadPerMessage = 128

    let limit: Int
    private(set) var used = 0

    init(limit: Int) { self.limit = limit }

    static func cost(of message: Message) -> Int {
        message.body.count &+ message.escapedBodyLength &+ overheadPerMessage
    }

    /// Whether `delta` more bytes fit (a change that frees bytes always does).
    func admits(_ delta: Int) -> Bool { delta <= 0 || used &+ delta <= limit }

    func add(_ delta: Int) { used &+= delta }
}
