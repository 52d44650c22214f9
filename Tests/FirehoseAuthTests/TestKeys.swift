import Crypto
import FirehoseAuth
import FirehoseCore
import _CryptoExtras

/// Keys generated once per test run: no key material is committed.
enum TestKeys {
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)
    static let otherSecret = Array("fedcba9876543210fedcba9876543210".utf8)

    static let p256 = P256.Signing.PrivateKey()
    static let otherP256 = P256.Signing.PrivateKey()
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let otherRSA = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    static let now = 1_700_000_000.0

    static func verifier(secret: [UInt8]? = TestKeys.secret, publicKeys: [String] = [], audience: String? = nil, issuer: String? = nil, leeway: Double = 0) throws -> JWTVerifier {
        JWTVerifier(keys: try JWTKeys(hmacSecret: secret, publicKeysPEM: publicKeys), audience: audience, issuer: issuer, leeway: leeway)
    }

    /// A token from raw header and claims text, signed HS256 with `secret`, for inputs the signer
    /// would never produce (duplicate members, odd types).
    static func rawHS256(header: String, claims: String, secret: [UInt8] = TestKeys.secret) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + Base64URL.encode(Array(mac))
    }
}
