/// Every open client socket (HTTP, WebSocket; public and admin), for the drain: the server must
/// reach each one once when it stops, and know when the last has gone. An intrusive doubly linked
/// list through `SocketConnection`, so opening and closing a connection costs two pointer writes
/// and no allocation or hashing. Loop thread only.
final class ConnectionRegistry {
    fileprivate unowned(unsafe) var head: SocketConnection?
    private(set) var count = 0
    /// Run after a removal leaves the registry empty (the drain listens for that).
    var becameEmpty: (() -> Void)?

    func insert(_ connection: SocketConnection) {
        guard connection.registry == nil else { return }
        connection.registry = self
        connection.registryNext = head
        connection.registryPrevious = nil
        head?.registryPrevious = connection
        head = connection
        count += 1
    }

    func remove(_ connection: SocketConnection) {
        guard connection.registry === self else { return }
        if let previous = connection.registryPrevious {
            previous.registryNext = connection.registryNext
        } else {
            head = connection.registryNext
        }
        connection.registryNext?.registryPrevious = connection.registryPrevious
        connection.registryNext = nil
        connection.registryPrevious = nil
        connection.registry = nil
        count -= 1
        if count == 0 { becameEmpty?() }
    }

    /// The connections open now, as a list that stays valid while they close.
    func snapshot() -> [SocketConnection] {
        var all: [SocketConnection] = []
        all.reserveCapacity(count)
        var node = head
        while let connection = node {
            all.append(connection)
            node = connection.registryNext
        }
        return all
    }
}
