import XCTest
import FirehoseCore
@testable import FirehoseServer

/// `RedisKeys` (Backend/Redis/RedisKeys.swift): the Ruby server's key layout and pub/sub payload,
/// which both servers must agree on byte for byte to share one Redis.
final class RedisKeysTests: XCTestCase {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testKeyNames() {
        let cases: [(channel: String, sequence: String, list: String)] = [
            ("/a", "firehose:/a:sequence", "firehose:/a:list"),
            ("/a/b/c", "firehose:/a/b/c:sequence", "firehose:/a/b/c:list"),
            ("/with:colon", "firehose:/with:colon:sequence", "firehose:/with:colon:list"),
            ("/ünï", "firehose:/ünï:sequence", "firehose:/ünï:list"),
            ("", "firehose::sequence", "firehose::list"),
        ]
        for test in cases {
            XCTAssertEqual(text(RedisKeys.sequence(test.channel)), test.sequence)
            XCTAssertEqual(text(RedisKeys.list(test.channel)), test.list)
        }
        XCTAssertEqual(text(RedisKeys.updatesChannel), "firehose:channel_updates")
    }

    func testParseUpdate() {
        let cases: [(name: String, payload: [UInt8], channel: String, sequence: Int, body: [UInt8])] = [
            ("plain", Array("/a\n3\nhello".utf8), "/a", 3, Array("hello".utf8)),
            ("body with newlines keeps them", Array("/a\n12\nline 1\nline 2\n\n".utf8), "/a", 12, Array("line 1\nline 2\n\n".utf8)),
            ("body with CR LF", Array("/a\n1\nx\r\ny\r\n".utf8), "/a", 1, Array("x\r\ny\r\n".utf8)),
            ("body that looks like a payload", Array("/a\n2\n/b\n3\nz".utf8), "/a", 2, Array("/b\n3\nz".utf8)),
            ("empty body", Array("/a\n7\n".utf8), "/a", 7, []),
            ("binary body", Array("/b\n2\n".utf8) + [0, 0xFF, 10, 13], "/b", 2, [0, 0xFF, 10, 13]),
            ("large sequence", Array("/a\n9223372036854775807\nx".utf8), "/a", Int.max, Array("x".utf8)),
            ("empty channel name", Array("\n1\nx".utf8), "", 1, Array("x".utf8)),
        ]
        for test in cases {
            guard let update = RedisKeys.parseUpdate(test.payload) else {
                XCTFail("\(test.name): not parsed")
                continue
            }
            XCTAssertEqual(update.channel, test.channel, test.name)
            XCTAssertEqual(update.sequence, test.sequence, test.name)
            XCTAssertEqual(update.body, test.body, test.name)
        }
    }

    func testMalformedUpdatesAreRefused() {
        let cases: [(name: String, payload: [UInt8])] = [
            ("empty", []),
            ("no newline", Array("/a".utf8)),
            ("one newline", Array("/a\n3".utf8)),
            ("sequence not a number", Array("/a\nthree\nx".utf8)),
            ("sequence empty", Array("/a\n\nx".utf8)),
            ("sequence with a CR", Array("/a\n3\r\nx".utf8)),
            ("sequence with spaces", Array("/a\n 3\nx".utf8)),
            ("sequence past Int", Array("/a\n9223372036854775808\nx".utf8)),
        ]
        for test in cases { XCTAssertNil(RedisKeys.parseUpdate(test.payload), test.name) }
    }

    func testPublishKeysMatchTheScriptsArguments() {
        // numkeys 2, KEYS[1..2], then ARGV[1..7] as the script reads them (only keys in KEYS, so an
        // ACL user limited to firehose:* may run it): the published payload is
        // ARGV[7] .. "\n" .. seq .. "\n" .. body.
        let cases: [(name: String, options: PublishOptions, ttl: String, size: String, persist: String)] = [
            ("defaults", PublishOptions(bufferSize: 100), "86400", "100", "false"),
            ("persisted, no buffer", PublishOptions(ttl: 60, bufferSize: 0, persist: true), "60", "0", "true"),
        ]
        for test in cases {
            let keys = RedisKeys.publishKeys(channel: "/p", body: Array("b\nody".utf8), options: test.options).map(text)
            XCTAssertEqual(keys, ["2", "firehose:/p:sequence", "firehose:/p:list", "firehose:channel_updates", test.ttl, "b\nody",
                                  test.size, test.persist, "\n", "/p"], test.name)
            // What a subscriber node would parse back from the script's PUBLISH.
            let payload = Array((keys[9] + keys[8] + "5" + keys[8] + keys[5]).utf8)
            let update = RedisKeys.parseUpdate(payload)
            XCTAssertEqual(update?.channel, "/p", test.name)
            XCTAssertEqual(update?.sequence, 5, test.name)
            XCTAssertEqual(update.map { text($0.body) }, "b\nody", test.name)
        }
    }
}
