import FirehoseAuth
import XCTest

final class TokenSourceTests: XCTestCase {
    func testPrecedenceAndParsing() {
        let table: [(authorization: String?, query: String?, cookie: String?, cookieName: String?, expected: String?)] = [
            (nil, nil, nil, nil, nil),
            ("Bearer h", "q", "t=c", "t", "h"),
            ("bearer h", nil, nil, nil, "h"),
            ("BEARER   h  ", nil, nil, nil, "h"),
            ("Bearer", "q", nil, nil, "q"),
            ("Bearer   ", "q", nil, nil, "q"),
            ("Basic dXNlcjpwdw==", "q", nil, nil, "q"),
            ("Bearerh", "q", nil, nil, "q"),
            (nil, "q", "t=c", "t", "q"),
            (nil, "", "t=c", "t", "c"),
            (nil, nil, "t=c", "t", "c"),
            (nil, nil, "a=1; t=c; b=2", "t", "c"),
            (nil, nil, "a=1;t=c", "t", "c"),
            (nil, nil, "  t = c  ", "t", "c"),
            (nil, nil, "t=\"c\"", "t", "c"),
            (nil, nil, "t=c.d.e==", "t", "c.d.e=="),
            (nil, nil, "tt=c; xt=d", "t", nil),
            (nil, nil, "T=c", "t", nil),
            (nil, nil, "t=", "t", nil),
            (nil, nil, "t", "t", nil),
            (nil, nil, "t=first; t=second", "t", "first"),
            (nil, nil, "t=c", nil, nil),
            ("Basic x", nil, "t=c", "t", "c"),
        ]
        for row in table {
            XCTAssertEqual(
                TokenSource.select(authorization: row.authorization, query: row.query, cookieHeader: row.cookie, cookieName: row.cookieName),
                row.expected, "\(row)"
            )
        }
    }
}
