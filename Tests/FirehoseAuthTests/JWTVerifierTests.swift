import Crypto
import FirehoseAuth
import FirehoseCore
import XCTest
import _CryptoExtras

final class JWTVerifierTests: XCTestCase {
    // Computed, not stored: stored properties with initial values make Swift synthesize an
    // `init(name:testClosure:)` override whose closure LeakSanitizer found leaked (352 B, one per
    // test) with the test case it captures.
    private var now: Double { TestKeys.now }
    private var grantAll: [String: JSONValue] { ["topics": .string("/**")] }

    private func claims(_ extra: [String: JSONValue]) -> [String: JSONValue] {
        grantAll.merging(extra) { _, new in new }
    }

    private func assertRefused(_ result: Result<TokenGrants, TokenError>, _ expected: TokenError, _ message: String = "", line: UInt = #line) {
        switch result {
        case .success: XCTFail("accepted, expected \(expected) \(message)", line: line)
        case let .failure(error): XCTAssertEqual(error, expected, message, line: line)
        }
    }

    private func assertAccepted(_ result: Result<TokenGrants, TokenError>, _ message: String = "", line: UInt = #line) {
        if case let .failure(error) = result { XCTFail("refused (\(error)) \(message)", line: line) }
    }

    func testValidHS256() throws {
        let token = JWTSigner.token(secret: TestKeys.secret, publish: ["/chat/*"], subscribe: ["/chat/**"], ttl: 60, now: now)
        let grants = try (try TestKeys.verifier()).verify(token, now: now).get()
        XCTAssertTrue(grants.allows(.publish, channel: "/chat/x"))
        XCTAssertFalse(grants.allows(.publish, channel: "/chat/x/y"))
        XCTAssertTrue(grants.allows(.subscribe, channel: "/chat/x/y"))
        XCTAssertEqual(grants.expiresAt, now + 60)
        // The same token as a Substring, as a parser hands it over.
        let header = "Bearer " + token
        assertAccepted(try TestKeys.verifier().verify(header.dropFirst(7), now: now))
    }

    func testExpiryAndNotBeforeWithAndWithoutLeeway() throws {
        let exp = now + 100, nbf = now - 100
        let token = JWTSigner.hs256(claims: claims(["exp": .number(exp), "nbf": .number(nbf)]), secret: TestKeys.secret)
        let table: [(at: Double, leeway: Double, expected: TokenError?)] = [
            (now, 0, nil),
            (exp, 0, nil),
            (exp + 0.5, 0, .expired),
            (exp + 1, 0, .expired),
            (exp + 5, 5, nil),
            (exp + 5.5, 5, .expired),
            (nbf, 0, nil),
            (nbf - 0.5, 0, .notYetValid),
            (nbf - 5, 5, nil),
            (nbf - 6, 5, .notYetValid),
        ]
        for row in table {
            let result = try TestKeys.verifier(leeway: row.leeway).verify(token, now: row.at)
            if let expected = row.expected { assertRefused(result, expected, "at \(row.at) leeway \(row.leeway)") } else { assertAccepted(result, "at \(row.at) leeway \(row.leeway)") }
        }
        // No exp: never expires; expiresAt says so.
        let forever = JWTSigner.hs256(claims: grantAll, secret: TestKeys.secret)
        XCTAssertNil(try TestKeys.verifier().verify(forever, now: 4_000_000_000).get().expiresAt)
        // Time claims that are not numbers.
        for bad: JSONValue in [.string("\(exp)"), .null, .bool(true)] {
            assertRefused(try TestKeys.verifier().verify(JWTSigner.hs256(claims: claims(["exp": bad]), secret: TestKeys.secret), now: now), .malformed)
            assertRefused(try TestKeys.verifier().verify(JWTSigner.hs256(claims: claims(["nbf": bad]), secret: TestKeys.secret), now: now), .malformed)
        }
    }

    func testWrongSignatures() throws {
        let verifier = try TestKeys.verifier()
        let foreign = JWTSigner.hs256(claims: grantAll, secret: TestKeys.otherSecret)
        assertRefused(verifier.verify(foreign, now: now), .badSignature)

        let token = JWTSigner.hs256(claims: ["publish": .array([.string("/a")])], secret: TestKeys.secret)
        var parts = token.split(separator: ".").map(String.init)
        // Claims swapped for others, signature kept.
        parts[1] = Base64URL.encode(Array(#"{"topics":"/**"}"#.utf8))
        assertRefused(verifier.verify(parts.joined(separator: "."), now: now), .badSignature)
        // Truncated and emptied signatures.
        parts = token.split(separator: ".").map(String.init)
        let signature = Base64URL.decode(Array(parts[2].utf8))!
        parts[2] = Base64URL.encode(signature.dropLast())
        assertRefused(verifier.verify(parts.joined(separator: "."), now: now), .badSignature)
        parts[2] = ""
        assertRefused(verifier.verify(parts.joined(separator: "."), now: now), .badSignature)
        // One flipped bit.
        var flipped = signature
        flipped[0] ^= 1
        parts[2] = Base64URL.encode(flipped)
        assertRefused(verifier.verify(parts.joined(separator: "."), now: now), .badSignature)
    }

    func testAlgorithmsOutsideTheAllowList() throws {
        let verifier = try TestKeys.verifier()
        // alg none, in any spelling, with or without a signature.
        for name in ["none", "None", "NONE"] {
            let input = Base64URL.encode(Array(#"{"alg":"\#(name)","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(Array(#"{"topics":"/**"}"#.utf8))
            assertRefused(verifier.verify(input + ".", now: now), .unsupportedAlgorithm, name)
            let signed = TestKeys.rawHS256(header: #"{"alg":"\#(name)"}"#, claims: #"{"topics":"/**"}"#)
            assertRefused(verifier.verify(signed, now: now), .unsupportedAlgorithm, name)
        }
        // Other HMAC sizes, PSS, lower case, and unknown names, even when HS256-signed.
        for name in ["HS512", "HS384", "hs256", "PS256", "ES384", "EdDSA", ""] {
            let token = try JWTSigner.sign(claims: grantAll, key: .hmacSHA256(secret: TestKeys.secret), header: ["alg": .string(name)])
            assertRefused(verifier.verify(token, now: now), .unsupportedAlgorithm, name)
        }
        // Public-key algorithms with no public key configured.
        assertRefused(verifier.verify(try JWTSigner.rs256(claims: grantAll, privateKeyPEM: TestKeys.rsa.pemRepresentation), now: now), .unsupportedAlgorithm)
        assertRefused(verifier.verify(try JWTSigner.es256(claims: grantAll, privateKeyPEM: TestKeys.p256.pemRepresentation), now: now), .unsupportedAlgorithm)
        // HS256 with only public keys configured.
        let publicOnly = try TestKeys.verifier(secret: nil, publicKeys: [TestKeys.p256.publicKey.pemRepresentation])
        assertRefused(publicOnly.verify(JWTSigner.hs256(claims: grantAll, secret: TestKeys.secret), now: now), .unsupportedAlgorithm)
    }

    func testAlgorithmConfusionIsRefused() throws {
        let publicPEM = TestKeys.rsa.publicKey.pemRepresentation
        // The attacker knows the public key and uses its PEM text as an HMAC secret.
        let forged = JWTSigner.hs256(claims: grantAll, secret: Array(publicPEM.utf8))
        let rsaOnly = try TestKeys.verifier(secret: nil, publicKeys: [publicPEM])
        assertRefused(rsaOnly.verify(forged, now: now), .unsupportedAlgorithm)
        let both = try TestKeys.verifier(secret: TestKeys.secret, publicKeys: [publicPEM])
        assertRefused(both.verify(forged, now: now), .badSignature)
        // Also without the trailing newline, as some attacks try.
        let trimmed = JWTSigner.hs256(claims: grantAll, secret: Array(publicPEM.utf8.dropLast()))
        assertRefused(both.verify(trimmed, now: now), .badSignature)
        // The RS256 token itself still works with both configured.
        assertAccepted(both.verify(try JWTSigner.rs256(claims: grantAll, privateKeyPEM: TestKeys.rsa.pemRepresentation), now: now))
    }

    func testES256AndRS256() throws {
        let p256PEM = TestKeys.p256.publicKey.pemRepresentation, rsaPEM = TestKeys.rsa.publicKey.pemRepresentation
        let verifier = try TestKeys.verifier(secret: nil, publicKeys: [p256PEM, rsaPEM])
        let es = try JWTSigner.es256(claims: ["subscribe": .array([.string("/es/*")])], privateKeyPEM: TestKeys.p256.pemRepresentation)
        let rs = try JWTSigner.rs256(claims: ["publish": .array([.string("/rs/*")])], privateKeyPEM: TestKeys.rsa.pemRepresentation)
        XCTAssertTrue(try verifier.verify(es, now: now).get().allows(.subscribe, channel: "/es/1"))
        XCTAssertTrue(try verifier.verify(rs, now: now).get().allows(.publish, channel: "/rs/1"))
        XCTAssertEqual(verifier.keys.algorithms, ["RS256", "ES256"])

        // Keys that were not configured.
        assertRefused(verifier.verify(try JWTSigner.es256(claims: grantAll, privateKeyPEM: TestKeys.otherP256.pemRepresentation), now: now), .badSignature)
        assertRefused(verifier.verify(try JWTSigner.rs256(claims: grantAll, privateKeyPEM: TestKeys.otherRSA.pemRepresentation), now: now), .badSignature)
        // Several keys of one kind: each verifies its own tokens.
        let two = try TestKeys.verifier(secret: nil, publicKeys: [p256PEM, TestKeys.otherP256.publicKey.pemRepresentation])
        assertAccepted(two.verify(try JWTSigner.es256(claims: grantAll, privateKeyPEM: TestKeys.otherP256.pemRepresentation), now: now))
        assertAccepted(two.verify(es, now: now))

        // ES256 in DER form instead of JWS r||s.
        var parts = es.split(separator: ".").map(String.init)
        let raw = try P256.Signing.ECDSASignature(rawRepresentation: Base64URL.decode(Array(parts[2].utf8))!)
        parts[2] = Base64URL.encode(Array(raw.derRepresentation))
        assertRefused(verifier.verify(parts.joined(separator: "."), now: now), .badSignature)
        // A signature relabelled with the other public-key algorithm.
        let relabelled = try JWTSigner.sign(claims: grantAll, key: .p256(privateKeyPEM: TestKeys.p256.pemRepresentation), header: ["alg": .string("RS256")])
        assertRefused(verifier.verify(relabelled, now: now), .badSignature)
        // RS256 signed with PSS padding rather than PKCS#1 v1.5.
        let input = Base64URL.encode(Array(#"{"alg":"RS256"}"#.utf8)) + "." + Base64URL.encode(Array(#"{"topics":"/**"}"#.utf8))
        let pss = try TestKeys.rsa.signature(for: Array(input.utf8), padding: .PSS)
        assertRefused(verifier.verify(input + "." + Base64URL.encode(Array(pss.rawRepresentation)), now: now), .badSignature)
    }

    func testAudience() throws {
        let table: [(aud: JSONValue?, accepted: Bool)] = [
            (.string("firehose"), true),
            (.array([.string("other"), .string("firehose")]), true),
            (.array([.string("firehose")]), true),
            (nil, false),
            (.string("other"), false),
            (.string("Firehose"), false),
            (.array([]), false),
            (.array([.string("other")]), false),
            (.number(1), false),
        ]
        let verifier = try TestKeys.verifier(audience: "firehose")
        let unconfigured = try TestKeys.verifier()
        for row in table {
            var extra: [String: JSONValue] = [:]
            if let aud = row.aud { extra["aud"] = aud }
            let token = JWTSigner.hs256(claims: claims(extra), secret: TestKeys.secret)
            if row.accepted { assertAccepted(verifier.verify(token, now: now), "\(String(describing: row.aud))") } else { assertRefused(verifier.verify(token, now: now), .wrongAudience, "\(String(describing: row.aud))") }
            // Without a configured audience, `aud` is not looked at.
            assertAccepted(unconfigured.verify(token, now: now))
        }
    }

    func testIssuer() throws {
        let verifier = try TestKeys.verifier(issuer: "https://app.example")
        let table: [(iss: JSONValue?, accepted: Bool)] = [
            (.string("https://app.example"), true),
            (.string("https://app.example/"), false),
            (.string("https://evil.example"), false),
            (.array([.string("https://app.example")]), false),
            (nil, false),
        ]
        for row in table {
            var extra: [String: JSONValue] = [:]
            if let iss = row.iss { extra["iss"] = iss }
            let token = JWTSigner.hs256(claims: claims(extra), secret: TestKeys.secret)
            if row.accepted { assertAccepted(verifier.verify(token, now: now)) } else { assertRefused(verifier.verify(token, now: now), .wrongIssuer, "\(String(describing: row.iss))") }
        }
    }

    func testHeaderRules() throws {
        let verifier = try TestKeys.verifier()
        let body = #"{"topics":"/**"}"#
        let table: [(header: String, expected: TokenError?)] = [
            (#"{"alg":"HS256"}"#, nil),
            (#"{"alg":"HS256","typ":"JWT"}"#, nil),
            (#"{"alg":"HS256","typ":"jwt"}"#, nil),
            (#"{"typ":"JWT","alg":"HS256","kid":"k1"}"#, nil),
            (#"{"alg":"HS256","typ":"JWS"}"#, .malformed),
            (#"{"alg":"HS256","typ":"at+jwt"}"#, .malformed),
            (#"{"alg":"HS256","typ":1}"#, .malformed),
            (#"{"alg":"HS256","crit":["exp"]}"#, .malformed),
            (#"{"typ":"JWT"}"#, .malformed),
            (#"{"alg":256}"#, .malformed),
            (#"{"alg":"HS256","alg":"HS256"}"#, .malformed),
            (#"["HS256"]"#, .malformed),
            (#""HS256""#, .malformed),
            (#"{"alg":"HS256""#, .malformed),
        ]
        for row in table {
            let result = verifier.verify(TestKeys.rawHS256(header: row.header, claims: body), now: now)
            if let expected = row.expected { assertRefused(result, expected, row.header) } else { assertAccepted(result, row.header) }
        }
    }

    func testMalformedTokens() throws {
        let verifier = try TestKeys.verifier()
        let good = JWTSigner.hs256(claims: grantAll, secret: TestKeys.secret)
        let parts = good.split(separator: ".").map(String.init)
        let inputs = [
            "", ".", "..", "...", "abc", parts[0] + "." + parts[1], good + ".", good + "." + parts[2],
            // Bad base64 in each segment: a foreign character, padding, standard alphabet.
            "!!." + parts[1] + "." + parts[2],
            parts[0] + "." + parts[1] + "=." + parts[2],
            parts[0] + "." + parts[1] + "." + parts[2] + "=",
            parts[0].replacingFirst("e", with: "+") + "." + parts[1] + "." + parts[2],
            " " + good, good + " ",
        ]
        for input in inputs {
            assertRefused(verifier.verify(input, now: now), .malformed, input.debugDescription)
        }
        // Claims that are not a JSON object, or not JSON at all; and duplicate claim names.
        for body in ["[]", #""/**""#, "1", "null", "{", #"{"topics":"/**",}"#, #"{"topics":"/a","topics":"/**"}"#] {
            assertRefused(verifier.verify(TestKeys.rawHS256(header: #"{"alg":"HS256"}"#, claims: body), now: now), .malformed, body)
        }
    }

    func testLengthBound() throws {
        let verifier = try TestKeys.verifier()
        // Grow a filler claim until the token passes the bound: the last one within is accepted.
        var filler = 6000, lastWithin: String?, firstBeyond: String?
        while firstBeyond == nil {
            let token = JWTSigner.hs256(claims: claims(["x": .string(String(repeating: "a", count: filler))]), secret: TestKeys.secret)
            if token.utf8.count <= JWTVerifier.maximumTokenLength { lastWithin = token } else { firstBeyond = token }
            filler += 1
        }
        XCTAssertGreaterThan(try XCTUnwrap(lastWithin).utf8.count, JWTVerifier.maximumTokenLength - 3)
        assertAccepted(verifier.verify(try XCTUnwrap(lastWithin), now: now))
        assertRefused(verifier.verify(try XCTUnwrap(firstBeyond), now: now), .malformed)
        let huge = String(repeating: "a", count: 10_000_000)
        assertRefused(verifier.verify(huge, now: now), .malformed)
    }
}

private extension String {
    func replacingFirst(_ target: Character, with replacement: Character) -> String {
        guard let index = firstIndex(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(index...index, with: String(replacement))
        return copy
    }
}
