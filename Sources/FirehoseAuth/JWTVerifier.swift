import Crypto
import FirehoseCore
import _CryptoExtras

/// Verifies compact JWS tokens (RFC 7515, RFC 7519) synchronously, for the server's request path.
///
/// Checks, in this order: the length bound; three base64url segments (strict: unpadded, URL-safe
/// alphabet, canonical trailing bits); a header object whose `alg` the keys allow, whose `typ`, if
/// present, is `JWT` in any case, and that has no `crit`; the signature; a claims object; `exp` and
/// `nbf` with the leeway; `iss` and `aud` when configured. The claims are not parsed before the
/// signature is good.
public struct JWTVerifier: Sendable {
    /// Longer tokens are malformed without being decoded, so a huge token costs nothing.
    public static let maximumTokenLength = 8 * 1024

    public let keys: JWTKeys
    public let audience: String?
    public let issuer: String?
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    public let leeway: Double

    public init(keys: JWTKeys, audience: String?, issuer: String?, leeway: Double) {
        self.keys = keys
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
    }

    /// - Parameter now: the current time in unix seconds.
    public func verify<S: StringProtocol>(_ token: S, now: Double) -> Result<TokenGrants, TokenError> {
        guard token.utf8.count <= Self.maximumTokenLength else { return .failure(.malformed) }
        let bytes = Array(token.utf8)
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]),
              let payloadBytes = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]),
              case let .object(header)? = try? JSONParser.parse(headerBytes) else { return .failure(.malformed) }
        guard let algorithm = Self.algorithm(of: header) else { return .failure(.malformed) }

        // The signed bytes are the first two segments as they were sent, dot included.
        let signingInput = bytes[..<(parts[1].endIndex)]
        switch checkSignature(algorithm: algorithm, signature: signature, signingInput: signingInput) {
        case .success: break
        case let .failure(error): return .failure(error)
        }

        guard let claims = try? JSONParser.parse(payloadBytes), case let .object(members) = claims,
              Self.namesAreUnique(members) else { return .failure(.malformed) }
        return check(claims: claims, now: now)
    }

    /// The `alg` of an acceptable header, nil when the header breaks a rule of its own.
    private static func algorithm(of header: [(String, JSONValue)]) -> String? {
        var algorithm: String?
        for (name, value) in header {
            switch name {
            case "alg":
                guard algorithm == nil, case let .string(text) = value else { return nil }
                algorithm = text
            case "typ":
                guard case let .string(text) = value, text.lowercased() == "jwt" else { return nil }
            case "crit":
                // RFC 7515 §4.1.11: extensions we do not understand must not be ignored, and we
                // understand none.
                return nil
            default:
                continue
            }
        }
        return algorithm
    }

    private func checkSignature(algorithm: String, signature: [UInt8], signingInput: ArraySlice<UInt8>) -> Result<Void, TokenError> {
        switch algorithm {
        case "HS256":
            guard let secret = keys.hmac else { return .failure(.unsupportedAlgorithm) }
            // isValidAuthenticationCode compares in constant time.
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: secret)
                ? .success(()) : .failure(.badSignature)
        case "ES256":
            guard !keys.p256.isEmpty else { return .failure(.unsupportedAlgorithm) }
            // JWS carries r||s (RFC 7518 §3.4), not DER.
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return .failure(.badSignature) }
            let digest = SHA256.hash(data: signingInput)
            return keys.p256.contains { $0.isValidSignature(ecdsa, for: digest) } ? .success(()) : .failure(.badSignature)
        case "RS256":
            guard !keys.rsa.isEmpty else { return .failure(.unsupportedAlgorithm) }
            let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
            let digest = SHA256.hash(data: signingInput)
            return keys.rsa.contains { $0.isValidSignature(rsaSignature, for: digest, padding: .insecurePKCS1v1_5) }
                ? .success(()) : .failure(.badSignature)
        default:
            return .failure(.unsupportedAlgorithm)
        }
    }

    private func check(claims: JSONValue, now: Double) -> Result<TokenGrants, TokenError> {
        guard let expiresAt = Self.time(claims["exp"]), let notBefore = Self.time(claims["nbf"]) else { return .failure(.malformed) }
        if let exp = expiresAt, now > exp + leeway { return .failure(.expired) }
        if let nbf = notBefore, now + leeway < nbf { return .failure(.notYetValid) }
        if let issuer {
            guard case let .string(claimed)? = claims["iss"], claimed == issuer else { return .failure(.wrongIssuer) }
        }
        if let audience {
            switch claims["aud"] {
            case let .string(claimed)? where claimed == audience: break
            case let .array(claimed)? where claimed.contains(.string(audience)): break
            default: return .failure(.wrongAudience)
            }
        }
        guard let grants = TokenGrants(claims: claims, expiresAt: expiresAt) else { return .failure(.malformed) }
        return .success(grants)
    }

    /// RFC 7519 §4 lets a parser refuse duplicate claim names; we do, so that no claim can mean one
    /// thing to the issuer's JSON library and another to ours.
    private static func namesAreUnique(_ members: [(String, JSONValue)]) -> Bool {
        var seen = Set<String>()
        return members.allSatisfy { seen.insert($0.0).inserted }
    }

    /// A NumericDate claim: `.some(nil)` when absent, nil when present but not a number.
    private static func time(_ claim: JSONValue?) -> Double?? {
        switch claim {
        case nil: return .some(nil)
        case let .number(seconds)?: return .some(seconds)
        default: return nil
        }
    }
}
