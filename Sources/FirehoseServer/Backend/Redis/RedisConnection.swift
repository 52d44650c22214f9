internal import CHiredis
internal import CLibevent
internal import FirehoseCore

/// One hiredis asynchronous connection on the server's loop, kept up for as long as the server
/// runs: it reconnects with backoff, re-authenticates and re-selects its database, and, because
/// hiredis 0.14 has no timeouts, a watchdog drops the connection when Redis stops answering (every
/// pending command then completes with `nil`: its outcome is unknown). Loop thread only.
final class RedisConnection {
    let role: String
    private unowned let loop: EventLoop
    private let logger: Logger
    private let endpoint: RedisEndpoint
    private let timeout: Double
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private(set) var isConnected = false
    /// Connections made again after one was lost or failed (`firehose_redis_reconnects_total`).
    private(set) var reconnects = 0
    private var everConnected = false
    private var connectStartedAt: Double = 0
    /// When each command awaiting a reply was sent, oldest first (Redis answers in order).
    private var sentAt: [Double] = []
    private var sentHead = 0
    private var reconnectTimer: LoopTimer!
    private var watchdog: LoopTimer!
    private var backoff = 0.1
    private var outageLogged = false

    /// Called once connected (after AUTH and SELECT were queued): resume work.
    var onReady: (() -> Void)?
    /// Called when an established connection is lost (its pending commands already got `nil`).
    var onLost: (() -> Void)?

    init(role: String, loop: EventLoop, logger: Logger, endpoint: RedisEndpoint, timeout: Double) {
        self.role = role
        self.loop = loop
        self.logger = logger
        self.endpoint = endpoint
        self.timeout = timeout
        reconnectTimer = LoopTimer(loop: loop) { [unowned self] in self.connect() }
        watchdog = LoopTimer(loop: loop) { [unowned self] in self.checkTimeouts() }
    }

    func start() { connect() }

    private var pendingCount: Int { sentAt.count - sentHead }

    // MARK: commands

    /// Sends a command; `completion` gets the reply, or `nil` when Redis is unreachable, did not
    /// answer in time, or the connection dropped first.
    func command(_ arguments: [[UInt8]], _ completion: @escaping (RedisReply?) -> Void) {
        guard let context, isConnected else {
            completion(nil)
            return
        }
        let callback = Unmanaged.passRetained(CommandCallback(connection: self, completion: completion)).toOpaque()
        let status = RedisConnection.withArgv(arguments) { count, argv, lengths in
            redisAsyncCommandArgv(context, { _, reply, privdata in
                let callback = Unmanaged<CommandCallback>.fromOpaque(privdata!).takeRetainedValue()
                callback.connection?.commandAnswered()
                callback.completion(reply.map { RedisReply($0.assumingMemoryBound(to: redisReply.self)) })
            }, callback, count, argv, lengths)
        }
        guard status == REDIS_OK else {
            Unmanaged<CommandCallback>.fromOpaque(callback).release()
            completion(nil)
            return
        }
        sentAt.append(EventLoop.now())
    }

    /// Sends `SUBSCRIBE`-like commands whose replies keep coming: `handler` gets every reply, and
    /// `nil` once when the connection goes away. Not covered by the timeout.
    func subscribe(_ arguments: [[UInt8]], handler: SubscriptionHandler) {
        guard let context, isConnected else { return }
        let handlerPointer = Unmanaged.passUnretained(handler).toOpaque()
        _ = RedisConnection.withArgv(arguments) { count, argv, lengths in
            redisAsyncCommandArgv(context, { _, reply, privdata in
                let handler = Unmanaged<SubscriptionHandler>.fromOpaque(privdata!).takeUnretainedValue()
                handler.receive(reply.map { RedisReply($0.assumingMemoryBound(to: redisReply.self)) })
            }, handlerPointer, count, argv, lengths)
        }
    }

    private func commandAnswered() {
        guard pendingCount > 0 else { return }
        sentHead += 1
        if sentHead > 1024, sentHead * 2 > sentAt.count {
            sentAt.removeFirst(sentHead)
            sentHead = 0
        }
    }

    private static func withArgv<T>(_ arguments: [[UInt8]], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T) -> T {
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(0) { $0 + $1.count })
        var lengths: [Int] = []
        for argument in arguments {
            joined += argument
            lengths.append(argument.count)
        }
        return joined.withUnsafeBufferPointer { storage in
            let base = UnsafeRawPointer(storage.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = []
            var offset = 0
            for length in lengths {
                pointers.append(base + offset)
                offset += length
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { body(Int32(arguments.count), argv.baseAddress!, $0.baseAddress!) }
            }
        }
    }

    // MARK: connecting

    private func connect() {
        guard context == nil else { return }
        guard let connecting = redisAsyncConnect(endpoint.host, Int32(endpoint.port)) else {
            connectionFailed("out of memory")
            return
        }
        if connecting.pointee.err != 0 {
            let reason = String(cString: withUnsafePointer(to: connecting.pointee.errstr) { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) })
            redisAsyncFree(connecting)
            connectionFailed(reason)
            return
        }
        connecting.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        redisLibeventAttach(connecting, loop.base.raw)
        redisAsyncSetConnectCallback(connecting) { context, status in
            RedisConnection.owner(of: context)?.connected(status == REDIS_OK, context)
        }
        redisAsyncSetDisconnectCallback(connecting) { context, _ in
            RedisConnection.owner(of: context)?.disconnected()
        }
        context = connecting
        connectStartedAt = EventLoop.now()
        watchdog.schedule(after: min(0.5, timeout / 2))
    }

    private static func owner(of context: UnsafePointer<redisAsyncContext>?) -> RedisConnection? {
        guard let data = context?.pointee.data else { return nil }
        return Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
    }

    private func connected(_ success: Bool, _ connecting: UnsafePointer<redisAsyncContext>?) {
        guard success else {
            // hiredis frees a context whose connection failed, right after this callback.
            let reason = connecting.map { String(cString: withUnsafePointer(to: $0.pointee.errstr) { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }) } ?? "unknown error"
            context = nil
            connectionFailed(reason)
            return
        }
        isConnected = true
        if everConnected { reconnects += 1 }
        everConnected = true
        backoff = 0.1
        if outageLogged { logger.info("Redis \(role) connection to \(endpoint) is back") } else { logger.debug("Redis \(role) connection to \(endpoint) established") }
        outageLogged = false
        if let password = endpoint.password { command([Array("AUTH".utf8), Array(password.utf8)]) { _ in } }
        if endpoint.database != 0 { command([Array("SELECT".utf8), Array(String(endpoint.database).utf8)]) { _ in } }
        onReady?()
    }

    private func disconnected() {
        // hiredis has already given every pending callback a nil reply and frees the context next.
        let wasConnected = isConnected
        context = nil
        isConnected = false
        sentAt.removeAll()
        sentHead = 0
        if wasConnected {
            logger.warn("Redis \(role) connection to \(endpoint) lost; reconnecting")
            outageLogged = true
            onLost?()
        }
        scheduleReconnect()
    }

    private func connectionFailed(_ reason: String) {
        if !outageLogged {
            logger.warn("Redis \(role) connection to \(endpoint) failed: \(reason); retrying with backoff")
            outageLogged = true
        } else {
            logger.debug("Redis \(role) connection to \(endpoint) failed: \(reason)")
        }
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        reconnectTimer.schedule(after: backoff)
        backoff = min(backoff * 2, 2)
    }

    /// Drops a connection on which Redis stopped answering (or that never finished connecting).
    private func checkTimeouts() {
        guard let context else { return }
        let now = EventLoop.now()
        let stuck: Bool
        if isConnected {
            stuck = pendingCount > 0 && now - sentAt[sentHead] > timeout
        } else {
            stuck = now - connectStartedAt > timeout
        }
        if stuck {
            logger.warn("Redis \(role) connection to \(endpoint) did not answer within \(timeout) s; reconnecting")
            outageLogged = true
            let wasConnected = isConnected
            redisAsyncFree(context)
            if self.context != nil {
                // A context that never connected gets no disconnect callback.
                self.context = nil
                isConnected = false
                sentAt.removeAll()
                sentHead = 0
                if wasConnected { onLost?() }
                scheduleReconnect()
            }
            return
        }
        watchdog.schedule(after: min(0.5, timeout / 2))
    }
}

/// A one-shot reply callback, retained by hiredis's privdata until it runs.
private final class CommandCallback {
    weak var connection: RedisConnection?
    let completion: (RedisReply?) -> Void

    init(connection: RedisConnection, completion: @escaping (RedisReply?) -> Void) {
        self.connection = connection
        self.completion = completion
    }
}

/// Receives every reply of a subscription; owned by whoever subscribed, for as long as it may run.
final class SubscriptionHandler {
    private let handler: (RedisReply?) -> Void

    init(_ handler: @escaping (RedisReply?) -> Void) { self.handler = handler }

    func receive(_ reply: RedisReply?) { handler(reply) }
}
