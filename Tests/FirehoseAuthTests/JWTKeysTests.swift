import Crypto
import FirehoseAuth
import XCTest
import _CryptoExtras

final class JWTKeysTests: XCTestCase {
    private func configurationError(secret: [UInt8]?, keys: [String]) -> JWTConfigurationError? {
        do {
            _ = try JWTKeys(hmacSecret: secret, publicKeysPEM: keys)
            return nil
        } catch {
            return error
        }
    }

    func testSecretLength() throws {
        let short = configurationError(secret: Array(repeating: 0x61, count: 31), keys: [])
        XCTAssertEqual(short?.description, "the JWT secret is 31 bytes long; it must be at least 32 bytes")
        XCTAssertNotNil(configurationError(secret: [], keys: []))
        XCTAssertEqual(try JWTKeys(hmacSecret: Array(repeating: 0x61, count: 32), publicKeysPEM: []).algorithms, ["HS256"])
    }

    func testNothingConfigured() {
        XCTAssertNotNil(configurationError(secret: nil, keys: []))
    }

    func testPublicKeyTextAsSecretIsRefused() {
        let pem = TestKeys.rsa.publicKey.pemRepresentation
        XCTAssertEqual(configurationError(secret: Array(pem.utf8), keys: [pem])?.description.contains("looks like a PEM key"), true)
    }

    func testPublicKeyFiles() throws {
        let rsa = TestKeys.rsa.publicKey.pemRepresentation, p256 = TestKeys.p256.publicKey.pemRepresentation
        XCTAssertEqual(try JWTKeys(hmacSecret: nil, publicKeysPEM: [rsa]).algorithms, ["RS256"])
        XCTAssertEqual(try JWTKeys(hmacSecret: nil, publicKeysPEM: [p256]).algorithms, ["ES256"])
        XCTAssertEqual(try JWTKeys(hmacSecret: TestKeys.secret, publicKeysPEM: [p256, rsa]).algorithms, ["HS256", "RS256", "ES256"])

        // The same RSA key as PKCS#1 `RSA PUBLIC KEY`: the SubjectPublicKeyInfo of a 2048-bit key is
        // a 24-byte header (sequence, algorithm identifier, bit string) around the PKCS#1 structure.
        let spki = Array(TestKeys.rsa.publicKey.derRepresentation)
        let pkcs1 = Array(spki.dropFirst(24))
        XCTAssertEqual(Array(pkcs1.prefix(4)), [0x30, 0x82, 0x01, 0x0A])
        let pkcs1PEM = pem(label: "RSA PUBLIC KEY", der: pkcs1)
        let viaPKCS1 = JWTVerifier(keys: try JWTKeys(hmacSecret: nil, publicKeysPEM: [pkcs1PEM]), audience: nil, issuer: nil, leeway: 0)
        let token = try JWTSigner.rs256(claims: ["topics": .string("/a")], privateKeyPEM: TestKeys.rsa.pemRepresentation)
        XCTAssertTrue(try viaPKCS1.verify(token, now: TestKeys.now).get().allows(.publish, channel: "/a"))

        let refused: [(pem: String, why: String)] = [
            ("", "0 PEM blocks"),
            ("not a key", "0 PEM blocks"),
            (p256 + "\n" + rsa, "2 PEM blocks"),
            (TestKeys.p256.pemRepresentation, "neither"),
            (TestKeys.rsa.pemRepresentation, "neither"),
            (P384.Signing.PrivateKey().publicKey.pemRepresentation, "neither"),
            (Curve25519.Signing.PrivateKey().publicKey.pemRepresentation, "neither"),
            (p256.truncatedBody, "neither"),
        ]
        for row in refused {
            let error = try XCTUnwrap(configurationError(secret: nil, keys: [p256, row.pem]), row.pem)
            XCTAssertTrue(error.description.contains("file 2"), error.description)
            XCTAssertTrue(error.description.contains(row.why), error.description)
        }
    }
}

private func pem(label: String, der: [UInt8]) -> String {
    let body = Array(Base64URL.encodeStandard(der))
    let lines = stride(from: 0, to: body.count, by: 64).map { String(body[$0..<min($0 + 64, body.count)]) }
    return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
}

private extension String {
    /// The PEM block without the last line of its base64 body: a truncated DER key.
    var truncatedBody: String {
        var lines = split(separator: "\n")
        lines.remove(at: lines.count - 2)
        return lines.joined(separator: "\n") + "\n"
    }
}
