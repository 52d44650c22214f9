import XCTest
import FirehoseClient

/// `EndpointURL` (Sources/FirehoseClient/EndpointURL.swift): the http:// URLs `firehose publish`
/// and `firehose consume` take. (FirehoseClient has no test target of its own; the server tests
/// already depend on it.)
final class EndpointURLTests: XCTestCase {
    func testParsesURLs() {
        let cases: [(text: String, host: String, port: Int, target: String, path: String)] = [
            ("http://127.0.0.1:7474/chan", "127.0.0.1", 7474, "/chan", "/chan"),
            ("http://localhost/a/b", "localhost", 80, "/a/b", "/a/b"),
            ("http://h", "h", 80, "/", "/"),
            ("http://h:8080", "h", 8080, "/", "/"),
            ("http://h:8080/", "h", 8080, "/", "/"),
            ("http://h/c?last_message_sequence=3", "h", 80, "/c?last_message_sequence=3", "/c"),
            ("http://h?x=1", "h", 80, "/?x=1", "/"),
            ("http://h:81?x=1", "h", 81, "/?x=1", "/"),
            ("h:7474/chan", "h", 7474, "/chan", "/chan"),
            ("h/chan", "h", 80, "/chan", "/chan"),
            ("http://[::1]:7474/c", "::1", 7474, "/c", "/c"),
            ("http://[::1]/c", "::1", 80, "/c", "/c"),
            ("http://h:0/c", "h", 0, "/c", "/c"),
            ("http://h:65535/c", "h", 65535, "/c", "/c"),
            ("http://h/a%2Fb?q=%20", "h", 80, "/a%2Fb?q=%20", "/a%2Fb"),
        ]
        for test in cases {
            guard let url = EndpointURL(test.text) else {
                XCTFail("\(test.text): refused")
                continue
            }
            XCTAssertEqual(url, EndpointURL(host: test.host, port: test.port, target: test.target), test.text)
            XCTAssertEqual(url.path, test.path, test.text)
        }
    }

    func testRefusesBadURLs() {
        let cases: [(text: String, why: String)] = [
            ("https://h/c", "TLS is not supported"),
            ("ws://h/c", "another scheme"),
            ("http://", "no host"),
            ("http:///c", "empty host"),
            ("http://:7474/c", "empty host with a port"),
            ("http://h:/c", "empty port"),
            ("http://h:x/c", "port not a number"),
            ("http://h:65536/c", "port past 65535"),
            ("http://h:-1/c", "negative port"),
            ("http://[::1/c", "unclosed IPv6 bracket"),
            ("http://[::1]:x/c", "IPv6 with a bad port"),
            ("", "empty"),
        ]
        for test in cases { XCTAssertNil(EndpointURL(test.text), "\(test.text): \(test.why)") }
    }
}
