internal import CHiredis
internal import CLibevent
internal import FirehoseCore
#if canImport(Glibc)
import Glibc
#endif

/// One hiredis asynchronous connection on the server's loop, kept up for as long as the server
/// runs: it reconnects with backoff, authenticates and selects its database (checking both
/// replies: it is ready only once Redis accepted them), and, because
/// hiredis 0.14 has no timeouts, a watchdog drops the connection when Redis stops answering (every
/// pending command then completes with `nil`: its outcome is unknown). Loop thread only.
final class RedisConnection {
    let role: String
    private unowned let loop: EventLoop
    private let logger: Logger
    /// Where the link goes; with Sentinel, the master they name (`switchTo`).
    private(set) var endpoint: RedisEndpoint
    private let timeout: Double
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    /// Ready for commands: connected, authenticated and on the right database.
    private(set) var isConnected = false
    /// Why the connection is not ready, for the 503 a publisher gets; `nil` while it is ready.
    private(set) var lastFailure: String? = "not connected yet"
    /// The refusal last logged: the same refusal again is logged at debug only, so a wrong
    /// password costs one log line however long it lasts.
    private var loggedRefusal: String?
    /// Redis refused AUTH or SELECT: retrying fast cannot help, so the backoff grows to 30 s.
    private var refused = false
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
    /// Called whenever an attempt fails or the link goes, before the retry is scheduled: Sentinel
    /// asks where the master is now (and a sentinel link moves on to the next sentinel).
    var onFailure: (() -> Void)?
    /// Check with `ROLE` after the handshake that this node is the master: behind Sentinel, an
    /// address may name a demoted master that now answers as a replica (and refuses writes).
    var requiresMaster = false

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
        guard isConnected else {
            completion(nil)
            return
        }
        send(arguments, completion)
    }

    /// Sends on the link whether or not it is ready (the AUTH and SELECT of the handshake).
    private func send(_ arguments: [[UInt8]], _ completion: @escaping (RedisReply?) -> Void) {
        guard let context else {
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
            let reason = RedisConnection.reason(connecting.pointee.errstr.map { String(cString: $0) } ?? "")
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
            // `errstr` of an async context points into its synchronous context (it is a pointer,
            // not the array: reading it as one gave garbage or nothing).
            let reason = RedisConnection.reason(connecting?.pointee.errstr.map { String(cString: $0) } ?? "")
            context = nil
            connectionFailed(reason)
            return
        }
        var steps: [(command: [[UInt8]], refusal: String)] = []
        if let password = endpoint.password {
            let credentials = (endpoint.user.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)]
            steps.append(([Array("AUTH".utf8)] + credentials, "Redis refused authentication for user \(endpoint.userDescription)"))
        }
        if endpoint.database != 0 {
            steps.append(([Array("SELECT".utf8), Array(String(endpoint.database).utf8)], "Redis refused SELECT \(endpoint.database)"))
        }
        handshake(steps[...])
    }

    /// The last handshake step behind Sentinel: a node that is not (or no longer) the master is
    /// left at once, with the ordinary backoff, and Sentinel is asked again (`onFailure`).
    private func checkRole() {
        send([Array("ROLE".utf8)]) { [weak self] reply in
            guard let self, let reply else { return }  // nil: the link dropped, `disconnected` retries
            if case let .array(parts) = reply, case let .string(role)? = parts.first, role == Array("master".utf8) {
                self.ready()
                return
            }
            let role = if case let .array(parts) = reply, case let .string(name)? = parts.first { String(decoding: name, as: UTF8.self) } else { "unknown" }
            self.lastFailure = "Redis at \(self.endpoint) is not the master (ROLE: \(role))"
            self.logger.warn("\(self.lastFailure!) on the \(self.role) connection; asking Sentinel again")
            self.outageLogged = true
            if let context = self.context { redisAsyncDisconnect(context) }  // `disconnected` retries
        }
    }

    /// Moves the link to another address (the master Sentinel names now): a link to the old one is
    /// dropped (its pending commands get `nil`, `onLost` runs) and the new one is tried at once.
    func switchTo(host: String, port: Int) {
        if host == endpoint.host, port == endpoint.port, context != nil || isConnected { return }
        let moved = host != endpoint.host || port != endpoint.port
        endpoint.host = host
        endpoint.port = port
        if moved { logger.info("Redis \(role) connection now goes to \(endpoint)") }
        freeContext()
        reconnectTimer.cancel()
        backoff = 0.1
        refused = false
        connect()
    }

    /// The next connect goes here (a sentinel link moving on to the next sentinel after a failure).
    func retarget(host: String, port: Int) {
        endpoint.host = host
        endpoint.port = port
    }

    /// Sends AUTH and SELECT one after the other, each only once the previous one was accepted.
    private func handshake(_ steps: ArraySlice<(command: [[UInt8]], refusal: String)>) {
        guard let step = steps.first else {
            if requiresMaster { checkRole() } else { ready() }
            return
        }
        send(step.command) { [weak self] reply in
            guard let self else { return }
            switch reply {
            case nil:
                break  // the link dropped: `disconnected` retries
            case let .error(message)? where message.contains("no password is set") || message.contains("without any password configured"):
                // A password Redis does not ask for: it works, as before AUTH replies were checked.
                self.logger.warn("Redis at \(self.endpoint) needs no password but one is configured (\(message))")
                self.handshake(steps.dropFirst())
            case let .error(message)?:
                self.refuse("\(step.refusal) (\(message))")
            default:
                self.handshake(steps.dropFirst())
            }
        }
    }

    private func ready() {
        isConnected = true
        if everConnected { reconnects += 1 }
        everConnected = true
        backoff = 0.1
        refused = false
        lastFailure = nil
        loggedRefusal = nil
        if outageLogged { logger.info("Redis \(role) connection to \(endpoint) is back") } else { logger.debug("Redis \(role) connection to \(endpoint) established") }
        outageLogged = false
        onReady?()
    }

    /// AUTH or SELECT was refused: logged once (until it changes or succeeds), then the link is
    /// closed and retried with a backoff growing to 30 s (1, 2, 4, 8, 16, 30, 30... s: eight
    /// attempts in the first minute, two a minute after that, each logged at debug only).
    private func refuse(_ reason: String) {
        lastFailure = reason
        if loggedRefusal != reason {
            logger.error("\(reason) on the \(role) connection to \(endpoint); retrying with backoff")
            loggedRefusal = reason
        } else {
            logger.debug("\(reason) on the \(role) connection to \(endpoint)")
        }
        outageLogged = true
        if !refused { backoff = max(backoff, 1) }
        refused = true
        if let context { redisAsyncDisconnect(context) }  // `disconnected` schedules the retry
    }

    /// hiredis sometimes leaves its error text empty; errno then says what happened.
    private static func reason(_ text: String) -> String {
        if !text.isEmpty { return text }
        return errno != 0 ? String(cString: strerror(errno)) : "connection failed (no reason given)"
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
            lastFailure = "the connection to Redis was lost"
            outageLogged = true
            onLost?()
        }
        onFailure?()
        scheduleReconnect()
    }

    private func connectionFailed(_ reason: String) {
        lastFailure = "cannot connect to \(endpoint): \(reason)"
        refused = false
        if !outageLogged {
            logger.warn("Redis \(role) connection to \(endpoint) failed: \(reason); retrying with backoff")
            outageLogged = true
        } else {
            logger.debug("Redis \(role) connection to \(endpoint) failed: \(reason)")
        }
        onFailure?()
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        reconnectTimer.schedule(after: backoff)
        backoff = min(backoff * 2, refused ? 30 : 2)
    }

    /// Frees the hiredis context (pending callbacks then run with no reply). A context that never
    /// connected gets no disconnect callback, so its state is reset here; returns true then.
    @discardableResult
    private func freeContext() -> Bool {
        guard let context else { return false }
        let wasConnected = isConnected
        redisAsyncFree(context)
        guard self.context != nil else { return false }
        self.context = nil
        isConnected = false
        sentAt.removeAll()
        sentHead = 0
        if wasConnected { onLost?() }
        return true
    }

    /// Drops a connection on which Redis stopped answering (or that never finished connecting).
    private func checkTimeouts() {
        guard context != nil else { return }
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
            if freeContext() {
                lastFailure = "Redis did not answer within \(timeout) s"
                onFailure?()
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
