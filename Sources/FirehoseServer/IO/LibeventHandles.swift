internal import CLibevent

/// Typed handles for the libevent objects that cross file boundaries, so that only the files that
/// really call libevent import it, and a bufferevent can never be passed where an evbuffer is meant.

/// The loop's `event_base`: every event, bufferevent and listener is created on it.
struct EventBase {
    let raw: OpaquePointer
}

/// A socket bufferevent: the client socket with its input and output evbuffers. Owned by exactly
/// one connection object at a time (an upgrade hands it from the HTTP connection to the WebSocket).
struct BufferEvent {
    let raw: OpaquePointer

    var fd: Int32 { bufferevent_getfd(raw) }
    var input: EventBuffer { EventBuffer(raw: bufferevent_get_input(raw)) }
    var output: EventBuffer { EventBuffer(raw: bufferevent_get_output(raw)) }

    /// Closes the socket (the bufferevent is made with close-on-free) and frees its buffers.
    func free() { bufferevent_free(raw) }
}

/// An evbuffer: queued bytes, possibly in several chunks, some held by reference.
struct EventBuffer {
    let raw: OpaquePointer

    var count: Int { evbuffer_get_length(raw) }

    func add(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        evbuffer_add(raw, base, bytes.count)
    }

    func add(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { add($0) }
    }

    func drain(_ count: Int) { evbuffer_drain(raw, count) }

    func drainAll() { evbuffer_drain(raw, evbuffer_get_length(raw)) }

    /// Moves everything in `other` to the end of this buffer (no copy).
    func takeAll(from other: EventBuffer) { evbuffer_add_buffer(raw, other.raw) }

    /// A buffer of our own (not a socket's); free it with `free()`.
    static func make() -> EventBuffer? { evbuffer_new().map(EventBuffer.init(raw:)) }

    func free() { evbuffer_free(raw) }
}
