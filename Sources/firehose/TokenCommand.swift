import ArgumentParser
import FirehoseAuth
#if canImport(Glibc)
import Glibc
#endif

/// `firehose token`: mints an HS256 token for development and tests (spec/auth.md). Production
/// tokens come from the application's own issuer; this signs with the server's shared secret.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print an HS256 token granting the given channel patterns (for development and tests).",
        discussion: "Patterns: a segment * matches one channel segment, a final ** any number (spec/auth.md)."
    )

    @Option(help: ArgumentHelp("The server's --jwt-secret. (env: FIREHOSE_JWT_SECRET)", valueName: "secret"))
    var secret: String?

    @Option(help: ArgumentHelp("A channel pattern the token may publish to; repeatable.", valueName: "pattern"))
    var publish: [String] = []

    @Option(help: ArgumentHelp("A channel pattern the token may subscribe to; repeatable.", valueName: "pattern"))
    var subscribe: [String] = []

    @Option(help: ArgumentHelp("Seconds until the token expires; 0 for a token without exp. (default: 3600)", valueName: "seconds"))
    var ttl: Int = 3600

    @Option(help: ArgumentHelp("The aud claim, for a server with --jwt-audience.", valueName: "audience"))
    var audience: String?

    @Option(help: ArgumentHelp("The iss claim, for a server with --jwt-issuer.", valueName: "issuer"))
    var issuer: String?

    func validate() throws {
        guard let secret = secret ?? Environment.string("FIREHOSE_JWT_SECRET") else {
            throw ValidationError("give --secret (or FIREHOSE_JWT_SECRET)")
        }
        guard secret.utf8.count >= JWTKeys.minimumSecretLength else {
            throw ValidationError("--secret is \(secret.utf8.count) bytes long; the server needs at least \(JWTKeys.minimumSecretLength)")
        }
        guard ttl >= 0 else { throw ValidationError("--ttl \(ttl) is out of range (0 or more)") }
        for pattern in publish + subscribe where ChannelPattern(pattern) == nil {
            throw ValidationError("'\(pattern)' is not a channel pattern: it must start with / and may end with /**")
        }
    }

    func run() throws {
        let secret = Array((secret ?? Environment.string("FIREHOSE_JWT_SECRET")!).utf8)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        print(JWTSigner.token(secret: secret, publish: publish, subscribe: subscribe, ttl: ttl == 0 ? nil : Double(ttl),
                              now: Double(now.tv_sec), audience: audience, issuer: issuer))
    }
}
