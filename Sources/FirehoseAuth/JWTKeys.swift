import Crypto
import _CryptoExtras

/// A reason the server refuses to start with the JWT options it was given, as one sentence for
/// the operator.
public struct JWTConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The keys that verify tokens. They also fix the algorithm allow-list: HS256 only when a secret is
/// configured, RS256 only with an RSA public key, ES256 only with a P-256 public key. Everything
/// else (`none`, HS384, PS256, ...) is refused, and since an HMAC is only ever computed with the
/// configured secret, a token "signed" HS256 with a public key's PEM text (algorithm confusion)
/// fails like any other wrong signature.
public struct JWTKeys: Sendable {
    /// HMAC secrets shorter than the hash output weaken HS256 (RFC 7518 §3.2).
    public static let minimumSecretLength = 32

    let hmac: SymmetricKey?
    let rsa: [_RSA.Signing.PublicKey]
    let p256: [P256.Signing.PublicKey]

    /// - Parameters:
    ///   - hmacSecret: the `--jwt-secret` bytes, at least 32 of them; nil for none.
    ///   - publicKeysPEM: the text of each `--jwt-public-key` file, one public key per file: an RSA
    ///     key of 2048 bits or more (`PUBLIC KEY` or `RSA PUBLIC KEY`) or a P-256 key (`PUBLIC KEY`).
    /// - Throws: `JWTConfigurationError` when the secret is too short or looks like a PEM key, when
    ///   a file holds anything but exactly one such public key, or when nothing is configured.
    public init(hmacSecret: [UInt8]?, publicKeysPEM: [String]) throws(JWTConfigurationError) {
        if let secret = hmacSecret {
            guard secret.count >= Self.minimumSecretLength else {
                throw JWTConfigurationError("the JWT secret is \(secret.count) bytes long; it must be at least \(Self.minimumSecretLength) bytes")
            }
            // A PEM key given as the secret is the misconfiguration that algorithm-confusion
            // attacks rely on: public key text is no secret.
            guard !Self.containsPEMMarker(secret) else {
                throw JWTConfigurationError("the JWT secret looks like a PEM key; give public keys as key files and use a random secret for HS256")
            }
            hmac = SymmetricKey(data: secret)
        } else {
            hmac = nil
        }
        var rsa: [_RSA.Signing.PublicKey] = []
        var p256: [P256.Signing.PublicKey] = []
        for (index, pem) in publicKeysPEM.enumerated() {
            let number = index + 1
            let keyCount = Self.countOccurrences(of: Array("-----BEGIN ".utf8), in: Array(pem.utf8))
            guard keyCount == 1 else {
                throw JWTConfigurationError("JWT public key file \(number) holds \(keyCount) PEM blocks; give exactly one public key per file")
            }
            if let key = try? P256.Signing.PublicKey(pemRepresentation: pem) {
                p256.append(key)
            } else if let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem) {
                rsa.append(key)
            } else {
                throw JWTConfigurationError("JWT public key file \(number) is neither an RSA public key of 2048 bits or more nor a P-256 (prime256v1) public key")
            }
        }
        guard hmac != nil || !rsa.isEmpty || !p256.isEmpty else {
            throw JWTConfigurationError("no JWT key configured: give a secret or at least one public key")
        }
        self.rsa = rsa
        self.p256 = p256
    }

    /// The `alg` values tokens may use, for logs and documentation.
    public var algorithms: [String] {
        var names: [String] = []
        if hmac != nil { names.append("HS256") }
        if !rsa.isEmpty { names.append("RS256") }
        if !p256.isEmpty { names.append("ES256") }
        return names
    }

    private static func containsPEMMarker(_ bytes: [UInt8]) -> Bool {
        countOccurrences(of: Array("-----BEGIN".utf8), in: bytes) > 0
    }

    private static func countOccurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard haystack.count >= needle.count else { return 0 }
        var count = 0
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            count += 1
        }
        return count
    }
}
