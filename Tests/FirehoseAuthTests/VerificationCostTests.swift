import FirehoseAuth
import FirehoseCore
import XCTest

/// What one verification costs (the server pays it once per request or connection, never per
/// delivered message). Prints microseconds per token so that a release run
/// (`swift test -c release --filter VerificationCostTests`) gives the figure the README quotes;
/// the bound only catches a pathological regression (the debug build is several times slower).
final class VerificationCostTests: XCTestCase {
    private func measure(_ name: String, token: String, verifier: JWTVerifier, iterations: Int) -> Double {
        let now = TestKeys.now
        guard case .success = verifier.verify(token, now: now) else {
            XCTFail("\(name) token does not verify")
            return 0
        }
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<iterations { _ = verifier.verify(token, now: now) }
        }
        let micros = (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12) / Double(iterations)
        print("verification cost: \(name) \(String(format: "%.1f", micros)) µs per token (\(iterations) tokens)")
        return micros
    }

    func testVerificationCostPerToken() throws {
        let claims = JWTSigner.claims(publish: ["/chat/*"], subscribe: ["/chat/**", "/users/42/**"], ttl: 3600, now: TestKeys.now)
        let hs = try JWTSigner.sign(claims: claims, key: .hmacSHA256(secret: TestKeys.secret))
        let es = try JWTSigner.sign(claims: claims, key: .p256(privateKeyPEM: TestKeys.p256.pemRepresentation))
        let rs = try JWTSigner.sign(claims: claims, key: .rsa(privateKeyPEM: TestKeys.rsa.pemRepresentation))
        let verifier = try TestKeys.verifier(publicKeys: [TestKeys.p256.publicKey.pemRepresentation, TestKeys.rsa.publicKey.pemRepresentation])
        XCTAssertLessThan(measure("HS256", token: hs, verifier: verifier, iterations: 5000), 1000)
        XCTAssertLessThan(measure("ES256", token: es, verifier: verifier, iterations: 500), 5000)
        XCTAssertLessThan(measure("RS256", token: rs, verifier: verifier, iterations: 500), 5000)
    }
}
