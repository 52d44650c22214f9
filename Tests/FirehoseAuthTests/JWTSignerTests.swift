import FirehoseAuth
import FirehoseCore
import XCTest

final class JWTSignerTests: XCTestCase {
    func testTokenClaims() throws {
        let token = JWTSigner.token(secret: TestKeys.secret, publish: ["/p/*"], subscribe: ["/s/**"], topics: ["/t"], ttl: 3600, now: 1000.7, audience: "aud", issuer: "iss")
        let payload = try XCTUnwrap(Base64URL.decode(Array(token.split(separator: ".")[1].utf8)))
        XCTAssertEqual(String(decoding: payload, as: UTF8.self), #"{"aud":"aud","exp":4600,"iat":1000,"iss":"iss","publish":["/p/*"],"subscribe":["/s/**"],"topics":["/t"]}"#)
        let header = try XCTUnwrap(Base64URL.decode(Array(token.split(separator: ".")[0].utf8)))
        XCTAssertEqual(String(decoding: header, as: UTF8.self), #"{"alg":"HS256","typ":"JWT"}"#)
        // Deterministic, and verifiable.
        XCTAssertEqual(token, JWTSigner.token(secret: TestKeys.secret, publish: ["/p/*"], subscribe: ["/s/**"], topics: ["/t"], ttl: 3600, now: 1000.7, audience: "aud", issuer: "iss"))
        let verifier = try TestKeys.verifier(audience: "aud", issuer: "iss")
        XCTAssertEqual(try verifier.verify(token, now: 1001).get().expiresAt, 4600)
        XCTAssertEqual(verifier.verify(token, now: 4601), .failure(.expired))
    }

    func testNoTTLAndNoGrants() throws {
        let token = JWTSigner.token(secret: TestKeys.secret, ttl: nil, now: 10)
        let payload = try XCTUnwrap(Base64URL.decode(Array(token.split(separator: ".")[1].utf8)))
        XCTAssertEqual(String(decoding: payload, as: UTF8.self), #"{"iat":10}"#)
    }

    func testClaimValuesSurviveTheRoundTrip() throws {
        let claims: [String: JSONValue] = [
            "s": .string("é \"q\" \\ \n"), "n": .number(1.5), "big": .number(1e20), "neg": .number(-3),
            "b": .bool(false), "z": .null, "o": .object([("k", .array([.number(1), .string("x")]))]),
        ]
        let token = JWTSigner.hs256(claims: claims, secret: TestKeys.secret)
        let payload = try XCTUnwrap(Base64URL.decode(Array(token.split(separator: ".")[1].utf8)))
        let parsed = try JSONParser.parse(payload)
        for (name, value) in claims { XCTAssertEqual(parsed[name], value, name) }
    }

    func testBadPrivateKeysThrow() {
        XCTAssertThrowsError(try JWTSigner.es256(claims: [:], privateKeyPEM: "nope"))
        XCTAssertThrowsError(try JWTSigner.rs256(claims: [:], privateKeyPEM: TestKeys.p256.pemRepresentation))
    }
}
