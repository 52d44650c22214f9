internal import CHiredis
internal import FirehoseCore

/// A Redis reply copied out of hiredis's `redisReply` (which hiredis frees after the callback).
enum RedisReply: Equatable {
    case string([UInt8])
    case status(String)
    case integer(Int)
    case array([RedisReply])
    case null
    case error(String)

    init(_ reply: UnsafePointer<redisReply>) {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            self = .string(value.str.map { Array(UnsafeRawBufferPointer(start: $0, count: value.len)) } ?? [])
        case REDIS_REPLY_STATUS:
            self = .status(value.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: value.len), as: UTF8.self) } ?? "")
        case REDIS_REPLY_ERROR:
            self = .error(value.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: value.len), as: UTF8.self) } ?? "error")
        case REDIS_REPLY_INTEGER:
            self = .integer(Int(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for i in 0..<value.elements {
                if let element = value.element[i] { elements.append(RedisReply(element)) } else { elements.append(.null) }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    /// A reply that carries an integer, as an integer or as a numeric string (`GET` of a counter).
    var integerValue: Int? {
        switch self {
        case let .integer(value): value
        case let .string(bytes): Int(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// A channel sequence as stored: digits read leniently and saturated at `Int.max`, anything
    /// negative or unreadable 0, so a value someone wrote into Redis can never make arithmetic trap.
    var saturatedInteger: Int {
        switch self {
        case let .integer(value): max(0, value)
        case let .string(bytes): max(0, LenientInteger.parse(bytes))
        default: 0
        }
    }
}
