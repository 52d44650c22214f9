import FirehoseAuth
import FirehoseCore
import XCTest

final class TokenGrantsTests: XCTestCase {
    private func grants(_ claims: [String: JSONValue]) throws -> Result<TokenGrants, TokenError> {
        try TestKeys.verifier().verify(JWTSigner.hs256(claims: claims, secret: TestKeys.secret), now: TestKeys.now)
    }

    private func strings(_ items: String...) -> JSONValue { .array(items.map(JSONValue.string)) }

    func testEachClaimForm() throws {
        // (claims, channels publishable, channels subscribable) among /a, /b/x, /c
        let channels = ["/a", "/b/x", "/c"]
        let table: [(claims: [String: JSONValue], publish: [String], subscribe: [String])] = [
            ([:], [], []),
            (["sub": .string("user-1")], [], []),
            (["publish": strings("/a")], ["/a"], []),
            (["subscribe": strings("/b/*")], [], ["/b/x"]),
            (["publish": strings("/a", "/c"), "subscribe": strings("/b/*")], ["/a", "/c"], ["/b/x"]),
            (["topics": .string("/a")], ["/a"], ["/a"]),
            (["topics": .string("/a, /b/*  ,/c")], channels, channels),
            (["topics": .string(" /a ,, /c ")], ["/a", "/c"], ["/a", "/c"]),
            (["topics": .string("")], [], []),
            (["topics": strings("/a", "/b/*")], ["/a", "/b/x"], ["/a", "/b/x"]),
            (["topics": strings("/a"), "publish": strings("/c"), "subscribe": strings("/b/*")], ["/a", "/c"], ["/a", "/b/x"]),
            (["publish": .array([]), "subscribe": .array([]), "topics": .array([])], [], []),
            (["topics": .string("/**")], channels, channels),
        ]
        for row in table {
            let grants = try grants(row.claims).get()
            for channel in channels {
                XCTAssertEqual(grants.allows(.publish, channel: channel), row.publish.contains(channel), "publish \(channel) with \(row.claims)")
                XCTAssertEqual(grants.allows(.subscribe, channel: channel), row.subscribe.contains(channel), "subscribe \(channel) with \(row.claims)")
            }
        }
    }

    func testUnreadableGrantsMakeTheTokenMalformed() throws {
        let table: [[String: JSONValue]] = [
            ["publish": .string("/a")],
            ["publish": strings("a")],
            ["publish": .array([.number(1)])],
            ["subscribe": strings("/a", "/**/b")],
            ["subscribe": .object([("/a", .bool(true))])],
            ["topics": .string("/a,b")],
            ["topics": .number(1)],
            ["topics": .null],
        ]
        for claims in table {
            XCTAssertEqual(try grants(claims), .failure(.malformed), "\(claims)")
        }
    }

    func testGrantsBuiltInCode() throws {
        let grants = TokenGrants(publish: [try XCTUnwrap(ChannelPattern("/p/*"))], subscribe: [], expiresAt: 5)
        XCTAssertTrue(grants.allows(.publish, channel: "/p/1"))
        XCTAssertFalse(grants.allows(.subscribe, channel: "/p/1"))
        XCTAssertFalse(TokenGrants().allows(.publish, channel: "/"))
    }
}
