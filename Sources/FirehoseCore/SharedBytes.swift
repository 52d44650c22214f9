/// An immutable byte buffer at a stable address, shared by reference: one encoded frame that any
/// number of connections can queue for writing without copying (the I/O layer hands the pointer
/// to libevent and keeps the object alive until the bytes are sent).
public final class SharedBytes: @unchecked Sendable {  // immutable after init
    public let pointer: UnsafeRawPointer
    public let count: Int

    public init(_ bytes: [UInt8]) {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { storage.copyMemory(from: base, byteCount: bytes.count) } }
        pointer = UnsafeRawPointer(storage)
        count = bytes.count
    }

    deinit { UnsafeMutableRawPointer(mutating: pointer).deallocate() }

    public var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: pointer, count: count)) }
}
