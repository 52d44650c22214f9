import FirehoseAuth
import XCTest

final class ChannelPatternTests: XCTestCase {
    func testInvalidPatterns() {
        for text in ["", "chat", "*", "**", "chat/*", " /a", "/**/a", "/a/**/b", "/**/", "/a/**/**"] {
            XCTAssertNil(ChannelPattern(text), "accepted \(text.debugDescription)")
        }
    }

    func testValidPatternsKeepTheirText() {
        for text in ["/", "/**", "/*", "/a*", "/a/**", "/chat/*", "/*/x", "/a/", "//", "/a**", "/*/*/**"] {
            XCTAssertEqual(ChannelPattern(text)?.description, text)
        }
    }

    func testMatching() throws {
        let table: [(pattern: String, channel: String, matches: Bool)] = [
            // The examples of the grammar.
            ("/chat/*", "/chat/x", true),
            ("/chat/*", "/chat/x/y", false),
            ("/chat/*", "/chat/", false),
            ("/chat/*", "/chat", false),
            ("/chat/*", "/chatx/y", false),
            ("/users/42/**", "/users/42", true),
            ("/users/42/**", "/users/42/a", true),
            ("/users/42/**", "/users/42/a/b", true),
            ("/users/42/**", "/users/421", false),
            ("/users/42/**", "/users/4", false),
            ("/users/42/**", "/users", false),
            ("/users/42/**", "/users/43/a", false),
            // No globbing inside a segment.
            ("/a*", "/a*", true),
            ("/a*", "/ab", false),
            ("/a*", "/a", false),
            ("/a**", "/a/b", false),
            ("/a**", "/a**", true),
            // `**` alone and `/` alone.
            ("/**", "/", true),
            ("/**", "/x", true),
            ("/**", "/x/y/z", true),
            ("/**", "x", false),
            ("/**", "", false),
            ("/", "/", true),
            ("/", "/a", false),
            ("/", "", false),
            ("/*", "/", false),
            ("/*", "/x", true),
            ("/*", "/x/y", false),
            // Trailing slashes and empty segments match only literally.
            ("/a", "/a", true),
            ("/a", "/a/", false),
            ("/a/", "/a/", true),
            ("/a/", "/a", false),
            ("/users/42/**", "/users/42/", false),
            ("/users/42/**", "/users/42//a", false),
            ("/users/42/**", "/users/42/a/", false),
            ("/*/b", "/a/b", true),
            ("/*/b", "//b", false),
            ("//", "//", true),
            ("//", "/", false),
            ("/*/*/**", "/a/b", true),
            ("/*/*/**", "/a", false),
            ("/*/*/**", "/a/b/c/d", true),
            // Exact bytes: case, query text, non-ASCII.
            ("/Chat", "/chat", false),
            ("/ch/x", "/ch/x?q=1", false),
            ("/é/*", "/é/x", true),
            ("/é/*", "/e/x", false),
        ]
        for row in table {
            let pattern = try XCTUnwrap(ChannelPattern(row.pattern), row.pattern)
            XCTAssertEqual(pattern.matches(row.channel), row.matches, "\(row.pattern) vs \(row.channel.debugDescription)")
            let viaBytes = Array(row.channel.utf8).withUnsafeBufferPointer { pattern.matches(utf8: $0) }
            XCTAssertEqual(viaBytes, row.matches, "bytes: \(row.pattern) vs \(row.channel.debugDescription)")
        }
    }

    func testLongChannelsAgainstWildcards() throws {
        let deep = "/" + Array(repeating: "s", count: 100_000).joined(separator: "/")
        XCTAssertTrue(try XCTUnwrap(ChannelPattern("/**")).matches(deep))
        XCTAssertTrue(try XCTUnwrap(ChannelPattern("/s/s/**")).matches(deep))
        XCTAssertFalse(try XCTUnwrap(ChannelPattern("/s/*")).matches(deep))
        XCTAssertFalse(try XCTUnwrap(ChannelPattern("/**")).matches(deep + "/"))
    }
}
