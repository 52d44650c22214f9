internal import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// The memory backend's channels as written to `--state-file` on a graceful shutdown and read
/// back at start, so a planned restart of a single node loses nothing and sequences continue.
///
/// Version 1, little-endian, every variable part length-prefixed so a reader never trusts a
/// length beyond the bytes that remain:
///   "FIREHOSE-STATE\n" (15 bytes), version u32 = 1, saved at (wall clock, ms) i64, channels u32,
///   then per channel: name (u32 length + bytes), sequence i64, lifetime left in ms i64 (-1: none),
///   messages u32, each (u32 length + bytes), oldest first; then "END\n" (a truncated file fails).
struct MemoryState {
    struct Channel: Equatable {
        var name: String
        var sequence: Int
        /// Milliseconds of lifetime left when saved; `nil` for a channel that never expires.
        var millisecondsLeft: Int?
        var bodies: [[UInt8]]
    }

    enum Failure: Error, CustomStringConvertible {
        case foreign, unsupportedVersion(UInt32), truncated, invalid(String), tooLarge(Int, Int), io(String)

        var description: String {
            switch self {
            case .foreign: "not a firehose state file"
            case let .unsupportedVersion(version): "state file version \(version) is not supported (this server reads version 1)"
            case .truncated: "the state file is truncated"
            case let .invalid(reason): "the state file is invalid: \(reason)"
            case let .tooLarge(size, limit): "the state is \(size) bytes, over the limit of \(limit) (--state-file-max-bytes)"
            case let .io(reason): reason
            }
        }
    }

    static let magic = Array("FIREHOSE-STATE\n".utf8)
    static let trailer = Array("END\n".utf8)
    static let version: UInt32 = 1

    var savedAtMilliseconds: Int
    var channels: [Channel]

    // MARK: encoding

    func encoded(limit: Int) throws(Failure) -> [UInt8] {
        var out = MemoryState.magic
        Self.put(UInt64(MemoryState.version), 4, into: &out)
        Self.put(UInt64(bitPattern: Int64(savedAtMilliseconds)), 8, into: &out)
        Self.put(UInt64(channels.count), 4, into: &out)
        for channel in channels {
            Self.putBytes(Array(channel.name.utf8), into: &out)
            Self.put(UInt64(bitPattern: Int64(channel.sequence)), 8, into: &out)
            Self.put(UInt64(bitPattern: Int64(channel.millisecondsLeft ?? -1)), 8, into: &out)
            Self.put(UInt64(channel.bodies.count), 4, into: &out)
            for body in channel.bodies { Self.putBytes(body, into: &out) }
            if out.count > limit { throw .tooLarge(out.count, limit) }
        }
        out += MemoryState.trailer
        if out.count > limit { throw .tooLarge(out.count, limit) }
        return out
    }

    private static func put(_ value: UInt64, _ width: Int, into out: inout [UInt8]) {
        for shift in 0..<width { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
    }

    private static func putBytes(_ bytes: [UInt8], into out: inout [UInt8]) {
        put(UInt64(bytes.count), 4, into: &out)
        out += bytes
    }

    // MARK: decoding

    init(savedAtMilliseconds: Int, channels: [Channel]) {
        self.savedAtMilliseconds = savedAtMilliseconds
        self.channels = channels
    }

    init(decoding bytes: [UInt8]) throws(Failure) {
        var reader = Reader(bytes: bytes)
        guard bytes.count >= MemoryState.magic.count, Array(bytes[..<MemoryState.magic.count]) == MemoryState.magic else { throw .foreign }
        reader.offset = MemoryState.magic.count
        let version = UInt32(try reader.integer(4))
        guard version == MemoryState.version else { throw .unsupportedVersion(version) }
        savedAtMilliseconds = Int(Int64(bitPattern: try reader.integer(8)))
        let count = Int(try reader.integer(4))
        // Each channel takes at least 28 bytes: a count beyond what remains is a lie, not a reservation.
        guard count <= reader.remaining / 28 else { throw .truncated }
        var channels: [Channel] = []
        channels.reserveCapacity(count)
        var names = Set<String>()
        for _ in 0..<count {
            let nameBytes = try reader.field()
            guard let name = String(validating: nameBytes, as: UTF8.self), name.first == "/" else { throw .invalid("a channel name is not a path") }
            guard names.insert(name).inserted else { throw .invalid("channel \(name) appears twice") }
            let sequence = Int(Int64(bitPattern: try reader.integer(8)))
            let left = Int(Int64(bitPattern: try reader.integer(8)))
            let messages = Int(try reader.integer(4))
            guard messages <= reader.remaining / 4 else { throw .truncated }
            guard sequence >= 1, sequence < Int.max, messages <= sequence else { throw .invalid("channel \(name) has sequence \(sequence) with \(messages) messages") }
            guard left >= -1 else { throw .invalid("channel \(name) has a negative lifetime") }
            var bodies: [[UInt8]] = []
            bodies.reserveCapacity(messages)
            for _ in 0..<messages {
                let body = try reader.field()
                guard UTF8Validation.isValid(body) else { throw .invalid("a message of \(name) is not UTF-8") }
                bodies.append(body)
            }
            channels.append(Channel(name: name, sequence: sequence, millisecondsLeft: left == -1 ? nil : left, bodies: bodies))
        }
        guard reader.remaining == MemoryState.trailer.count, Array(bytes[reader.offset...]) == MemoryState.trailer else {
            throw reader.remaining < MemoryState.trailer.count ? .truncated : .invalid("unexpected bytes after the channels")
        }
        self.channels = channels
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var remaining: Int { bytes.count - offset }

        mutating func integer(_ width: Int) throws(Failure) -> UInt64 {
            guard remaining >= width else { throw .truncated }
            var value: UInt64 = 0
            for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            offset += width
            return value
        }

        mutating func field() throws(Failure) -> [UInt8] {
            let length = Int(try integer(4))
            guard remaining >= length else { throw .truncated }
            defer { offset += length }
            return Array(bytes[offset..<(offset + length)])
        }
    }

    // MARK: files

    /// Writes atomically: a temporary file next to `path`, fsynced, then renamed over it, so a
    /// crash mid-write leaves the previous file (or none), never half of one.
    static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw .io("cannot write \(temporary): \(reason)")
            }
            written += count
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            unlink(temporary)
            throw .io("cannot flush \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .io("cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    /// The file's bytes, or `nil` when there is no file; at most `limit` bytes are accepted.
    static func read(from path: String, limit: Int) throws(Failure) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .io("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            if bytes.count > limit { throw .tooLarge(bytes.count, limit) }
        }
    }

    static func wallClockMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}
