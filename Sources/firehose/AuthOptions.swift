import ArgumentParser
import FirehoseServer
#if canImport(Glibc)
import Glibc
#endif

/// The access-control flags (`spec/auth.md`, README "Access control"). Each has an environment
/// twin; the flag wins.
struct AuthOptions: ParsableArguments {
    // `.unconditional`: a random secret begins with `-` one time in 64 (base64url), and must not
    // then be read as the next flag (CI failed on exactly that).
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Enables HS256 bearer tokens signed with this secret (at least 32 bytes; taken as given even when it begins with -). (env: FIREHOSE_JWT_SECRET; default: none)", valueName: "secret"))
    var jwtSecret: String?

    @Option(name: .long, help: ArgumentHelp("A PEM public key file enabling RS256 (RSA, 2048 bits or more) or ES256 (P-256) tokens; repeatable. (env: FIREHOSE_JWT_PUBLIC_KEY, files separated by commas; default: none)", valueName: "file"))
    var jwtPublicKey: [String] = []

    @Option(name: .long, help: ArgumentHelp("Tokens must name this audience in their aud claim. (env: FIREHOSE_JWT_AUDIENCE; default: not checked)", valueName: "audience"))
    var jwtAudience: String?

    @Option(name: .long, help: ArgumentHelp("Tokens must carry exactly this iss claim. (env: FIREHOSE_JWT_ISSUER; default: not checked)", valueName: "issuer"))
    var jwtIssuer: String?

    @Option(name: .long, help: ArgumentHelp("Seconds of clock skew allowed on exp and nbf, 0 to 86400. (env: FIREHOSE_JWT_LEEWAY; default: 0)", valueName: "seconds"))
    var jwtLeeway: Double?

    @Option(name: .long, help: ArgumentHelp("A cookie that may carry the token, after the Authorization header and the access_token parameter. (env: FIREHOSE_JWT_COOKIE; default: none)", valueName: "name"))
    var jwtCookie: String?

    @Option(name: .long, help: ArgumentHelp("What needs a token: publish, subscribe or all; needs a key. (env: FIREHOSE_AUTH; default: publish when a key or hook is configured)", valueName: "scope"))
    var auth: String?

    @Option(name: .long, help: ArgumentHelp("Comma-separated browser origins (scheme://host[:port]) that get CORS headers, may open WebSockets and get OPTIONS preflights answered; * for any. (env: FIREHOSE_ALLOWED_ORIGINS; default: *)", valueName: "origins"))
    var allowedOrigins: String?

    @Option(name: .long, help: ArgumentHelp("An authorization hook: each guarded publish and subscription is POSTed there as JSON with the client's Cookie, Authorization and Origin; 2xx allows, 401/403 pass through, anything else is 503. (env: FIREHOSE_AUTH_URL; default: none)", valueName: "url"))
    var authUrl: String?

    @Option(name: .long, help: ArgumentHelp("Seconds the hook may take before the client gets 503, 0.1 to 60. (env: FIREHOSE_AUTH_TIMEOUT; default: 5)", valueName: "seconds"))
    var authTimeout: Double?

    @Option(name: .long, help: ArgumentHelp("Seconds a hook decision (allow or deny) is reused for the same credentials, channel and action, 0 to 86400; 0 asks every time. (env: FIREHOSE_AUTH_CACHE_TTL; default: 0)", valueName: "seconds"))
    var authCacheTtl: Double?

    func apply(to configuration: inout ServerConfiguration) throws {
        var settings = configuration.auth
        if let secret = jwtSecret ?? Environment.string("FIREHOSE_JWT_SECRET") { settings.jwtSecret = Array(secret.utf8) }
        let files = jwtPublicKey.isEmpty
            ? (Environment.string("FIREHOSE_JWT_PUBLIC_KEY")?.split(separator: ",").map(String.init) ?? [])
            : jwtPublicKey
        settings.jwtPublicKeysPEM = try files.map(Self.readFile)
        settings.audience = jwtAudience ?? Environment.string("FIREHOSE_JWT_AUDIENCE")
        settings.issuer = jwtIssuer ?? Environment.string("FIREHOSE_JWT_ISSUER")
        settings.leeway = try jwtLeeway ?? Environment.double("FIREHOSE_JWT_LEEWAY") ?? settings.leeway
        settings.cookieName = jwtCookie ?? Environment.string("FIREHOSE_JWT_COOKIE")
        if let scope = auth ?? Environment.string("FIREHOSE_AUTH") {
            guard let parsed = AuthConfiguration.Scope(rawValue: scope) else {
                throw ValidationError("--auth \(scope) is not one of publish, subscribe, all")
            }
            settings.scope = parsed
        }
        if let origins = allowedOrigins ?? Environment.string("FIREHOSE_ALLOWED_ORIGINS") {
            settings.allowedOrigins = origins.split(separator: ",").map { item in
                String(item.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
            }.filter { !$0.isEmpty }
        }
        settings.hookURL = authUrl ?? Environment.string("FIREHOSE_AUTH_URL")
        settings.hookTimeout = try authTimeout ?? Environment.double("FIREHOSE_AUTH_TIMEOUT") ?? settings.hookTimeout
        settings.hookCacheTTL = try authCacheTtl ?? Environment.double("FIREHOSE_AUTH_CACHE_TTL") ?? settings.hookCacheTTL
        configuration.auth = settings
    }

    /// A key file's text; a file that cannot be read stops the start with its path and reason.
    static func readFile(_ path: String) throws -> String {
        guard let file = fopen(path, "rb") else {
            throw ValidationError("--jwt-public-key \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
            // A public key is a few kilobytes; anything far larger is the wrong file.
            guard bytes.count <= 64 * 1024 else { throw ValidationError("--jwt-public-key \(path) is over 64 KiB; not a public key") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
