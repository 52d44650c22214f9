/// An immutable byte buffer at a stable address, shared by reference: one encoded frame that any
/// number of connections can queue for writing without copying (the I/O layer hands the pointer
/// to libevent and keeps the object alive until the bytes are sent).
public final class SharedBytes: @unchecked Sendable {  // immutable after init
    public let pointer: UnsafeRawPointer
    public let count: Int
    /// The array whose storage `pointer` points into (`init(keeping:)`); nil when the bytes were copied.
    private let owner: [UInt8]?

    public init(_ bytes: [UInt8]) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { storage.copyMemory(from: base, byteCount: bytes.count) } }
        pointer = UnsafeRawPointer(storage)
        count = bytes.count
        owner = nil
    }

    /// The array's own bytes, not copied: a stored message's body shared with the wire formats
    /// that carry it unchanged. The array is held, never mutated, so its storage does not move.
    public init(keeping bytes: [UInt8]) {
        guard !bytes.isEmpty else {
            pointer = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16))
            count = 0
            owner = nil
            return
        }
        pointer = bytes.withUnsafeBytes { $0.baseAddress! }
        count = bytes.count
        owner = bytes
    }

    deinit { if owner == nil { UnsafeMutableRawPointer(mutating: pointer).deallocate() } }

    /// Whether these are another array's bytes (`init(keeping:)`), not a copy.
    public var isBorrowed: Bool { owner != nil }

    public var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: pointer, count: count)) }
}
