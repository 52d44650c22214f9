import Crypto
import FirehoseCore
import _CryptoExtras

/// A key that signs tokens, for development tools (`firehose token`) and tests.
public enum JWTSigningKey: Sendable {
    /// HS256 with a shared secret.
    case hmacSHA256(secret: [UInt8])
    /// ES256 with a P-256 private key in PEM (`PRIVATE KEY` or `EC PRIVATE KEY`).
    case p256(privateKeyPEM: String)
    /// RS256 (PKCS#1 v1.5) with an RSA private key of 2048 bits or more in PEM.
    case rsa(privateKeyPEM: String)

    var algorithm: String {
        switch self {
        case .hmacSHA256: return "HS256"
        case .p256: return "ES256"
        case .rsa: return "RS256"
        }
    }
}

/// Mints compact JWS tokens. The server never signs; this is for `firehose token`, for publishers
/// in development, and for tests of every algorithm. Members are written in sorted key order so
/// the same input always gives the same token (ES256 aside: its signatures are randomized).
public enum JWTSigner {
    /// Signs `claims` with `key`. The header is `{"alg":…,"typ":"JWT"}`; `header` adds members or
    /// overrides these two (tests use that to mislabel a token's algorithm).
    public static func sign(claims: [String: JSONValue], key: JWTSigningKey, header: [String: JSONValue] = [:]) throws -> String {
        var headerMembers: [String: JSONValue] = ["alg": .string(key.algorithm), "typ": .string("JWT")]
        headerMembers.merge(header) { _, override in override }
        let signingInput = Base64URL.encode(encode(.object(sorted(headerMembers)))) + "." + Base64URL.encode(encode(.object(sorted(claims))))
        let input = Array(signingInput.utf8)
        let signature: [UInt8]
        switch key {
        case let .hmacSHA256(secret):
            signature = Array(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: secret)))
        case let .p256(pem):
            signature = Array(try P256.Signing.PrivateKey(pemRepresentation: pem).signature(for: input).rawRepresentation)
        case let .rsa(pem):
            signature = Array(try _RSA.Signing.PrivateKey(pemRepresentation: pem).signature(for: input, padding: .insecurePKCS1v1_5).rawRepresentation)
        }
        return signingInput + "." + Base64URL.encode(signature)
    }

    public static func hs256(claims: [String: JSONValue], secret: [UInt8]) -> String {
        // HMAC signing has no failure path; only PEM parsing throws.
        try! sign(claims: claims, key: .hmacSHA256(secret: secret))
    }

    public static func es256(claims: [String: JSONValue], privateKeyPEM: String) throws -> String {
        try sign(claims: claims, key: .p256(privateKeyPEM: privateKeyPEM))
    }

    public static func rs256(claims: [String: JSONValue], privateKeyPEM: String) throws -> String {
        try sign(claims: claims, key: .rsa(privateKeyPEM: privateKeyPEM))
    }

    /// An HS256 token granting the given patterns, issued at `now` and, when `ttl` is given,
    /// expiring `ttl` seconds later. Empty grant lists are left out of the claims.
    public static func token(
        secret: [UInt8],
        publish: [String] = [],
        subscribe: [String] = [],
        topics: [String] = [],
        ttl: Double? = 3600,
        now: Double,
        audience: String? = nil,
        issuer: String? = nil
    ) -> String {
        hs256(claims: claims(publish: publish, subscribe: subscribe, topics: topics, ttl: ttl, now: now, audience: audience, issuer: issuer), secret: secret)
    }

    /// The claims `token` signs, for signing them with another key.
    public static func claims(
        publish: [String] = [],
        subscribe: [String] = [],
        topics: [String] = [],
        ttl: Double? = 3600,
        now: Double,
        audience: String? = nil,
        issuer: String? = nil
    ) -> [String: JSONValue] {
        var claims: [String: JSONValue] = ["iat": .number(now.rounded(.down))]
        if let ttl { claims["exp"] = .number((now + ttl).rounded(.down)) }
        if !publish.isEmpty { claims["publish"] = .array(publish.map(JSONValue.string)) }
        if !subscribe.isEmpty { claims["subscribe"] = .array(subscribe.map(JSONValue.string)) }
        if !topics.isEmpty { claims["topics"] = .array(topics.map(JSONValue.string)) }
        if let audience { claims["aud"] = .string(audience) }
        if let issuer { claims["iss"] = .string(issuer) }
        return claims
    }

    private static func sorted(_ members: [String: JSONValue]) -> [(String, JSONValue)] {
        members.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Compact JSON text. Integral numbers are written without a fraction (NumericDates are
    /// integers in practice); non-finite numbers, which JSON cannot carry, as null.
    static func encode(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        write(value, to: &writer)
        return writer.bytes
    }

    private static func write(_ value: JSONValue, to writer: inout JSONWriter) {
        switch value {
        case let .object(members):
            writer.raw("{")
            for (index, (name, member)) in members.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(name)
                writer.raw(":")
                write(member, to: &writer)
            }
            writer.raw("}")
        case let .array(elements):
            writer.raw("[")
            for (index, element) in elements.enumerated() {
                if index > 0 { writer.raw(",") }
                write(element, to: &writer)
            }
            writer.raw("]")
        case let .string(text): writer.string(text)
        case let .number(number):
            if !number.isFinite {
                writer.raw("null")
            } else if number.rounded() == number, abs(number) < 9.0e15 {
                writer.integer(Int(number))
            } else {
                writer.raw(Array("\(number)".utf8))
            }
        case let .bool(flag): writer.raw(flag ? "true" : "false")
        case .null: writer.raw("null")
        }
    }
}
