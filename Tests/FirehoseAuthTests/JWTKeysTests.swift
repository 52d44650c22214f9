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

private extension String {
    /// The PEM block without the last line of its base64 body: a truncated DER key.
    var truncatedBody: String {
        var lines = split(separator: "\n")
        lines.remove(at: lines.count - 2)
        return lines.joined(separator: "\n") + "\n"
    }
}
