import XCTest
@testable import FirehoseServer

/// `RedisEndpoint` (Backend/Redis/RedisEndpoint.swift): the `REDIS_URL` form,
/// `redis://[[user]:password@]host[:port][/db]`.
final class RedisEndpointTests: XCTestCase {
    func testParsesURLs() {
        let cases: [(url: String, host: String, port: Int, database: Int, password: String?)] = [
            ("redis://", "127.0.0.1", 6379, 0, nil),
            ("redis://10.0.0.5", "10.0.0.5", 6379, 0, nil),
            ("redis://10.0.0.5:6380", "10.0.0.5", 6380, 0, nil),
            ("redis://10.0.0.5:6380/2", "10.0.0.5", 6380, 2, nil),
            ("redis://10.0.0.5/3", "10.0.0.5", 6379, 3, nil),
            ("redis://10.0.0.5/", "10.0.0.5", 6379, 0, nil),
            ("redis://redis.internal:1/15", "redis.internal", 1, 15, nil),
            ("redis://h:65535", "h", 65535, 0, nil),
            ("redis://:secret@h:6379/1", "h", 6379, 1, "secret"),
            ("redis://user:secret@h", "h", 6379, 0, "secret"),
            ("redis://:p:with:colons@h", "h", 6379, 0, "p:with:colons"),
            ("redis://:p@ss@h", "h", 6379, 0, "p@ss"),
            // With no colon the one secret given is the password (AUTH with a password alone).
            ("redis://secret@h", "h", 6379, 0, "secret"),
            ("redis://:@h", "h", 6379, 0, nil),
            ("redis://user:@h", "h", 6379, 0, nil),
            ("redis://:secret@", "127.0.0.1", 6379, 0, "secret"),
            ("redis://:7000", "127.0.0.1", 7000, 0, nil),
        ]
        for test in cases {
            guard let endpoint = RedisEndpoint(url: test.url) else {
                XCTFail("\(test.url): refused")
                continue
            }
            // The ACL user is kept (the part before the colon, when there is one).
            let user = test.url.contains("user:") ? "user" : nil
            XCTAssertEqual(endpoint, RedisEndpoint(host: test.host, port: test.port, database: test.database, password: test.password, user: user), test.url)
        }
    }

    func testRefusesBadURLs() {
        let cases: [(url: String, why: String)] = [
            ("", "empty"),
            ("10.0.0.5:6379", "no scheme"),
            ("rediss://h", "TLS is not supported"),
            ("http://h:6379", "another scheme"),
            ("REDIS://h", "scheme case"),
            ("redis://h:0", "port 0"),
            ("redis://h:65536", "port past 65535"),
            ("redis://h:-1", "negative port"),
            ("redis://h:port", "port not a number"),
            ("redis://h:", "empty port"),
            ("redis://h/-1", "negative database"),
            ("redis://h/db", "database not a number"),
            ("redis://h/1/2", "a path past the database"),
            ("redis://h:6379/1?x=y", "a query"),
        ]
        for test in cases { XCTAssertNil(RedisEndpoint(url: test.url), "\(test.url): \(test.why)") }
    }

    func testDescriptionHidesThePassword() {
        let cases: [(url: String, description: String)] = [
            ("redis://:hunter2@h:6380/4", "redis://h:6380/4"),
            ("redis://admin:hunter2@h", "redis://h:6379/0"),
            ("redis://h", "redis://h:6379/0"),
        ]
        for test in cases {
            let described = RedisEndpoint(url: test.url)?.description
            XCTAssertEqual(described, test.description, test.url)
            XCTAssertFalse(described?.contains("hunter2") ?? true, test.url)
        }
        XCTAssertEqual(RedisEndpoint().description, "redis://127.0.0.1:6379/0", "the default")
    }
}
