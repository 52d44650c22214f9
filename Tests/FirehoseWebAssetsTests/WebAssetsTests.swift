import Foundation
import XCTest
import FirehoseWebAssets

/// The embedded bytes are the files in web/ as they are in the checkout, so what the server sends
/// at /firehose.js@firehose and /demo@firehose is exactly what the browser tests exercised.
final class WebAssetsTests: XCTestCase {
    /// web/ in this checkout, found from this file's path (Tests/FirehoseWebAssetsTests/...).
    private func webFile(_ name: String) throws -> [UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return [UInt8](try Data(contentsOf: root.appending(path: "web").appending(path: name)))
    }

    func testFirehoseJSIsTheFileInWeb() throws {
        let file = try webFile("firehose.js")
        XCTAssertFalse(file.isEmpty)
        XCTAssertEqual(WebAssets.firehoseJS, file)
    }

    func testDemoHTMLIsTheFileInWeb() throws {
        let file = try webFile("demo.html")
        XCTAssertFalse(file.isEmpty)
        XCTAssertEqual(WebAssets.demoHTML, file)
    }

    func testETagsAreQuotedStrongValidatorsThatTellTheFilesApart() {
        for etag in [WebAssets.firehoseJSETag, WebAssets.demoHTMLETag] {
            // RFC 9110 entity-tag: DQUOTE *etagc DQUOTE, no W/ prefix.
            XCTAssertTrue(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count > 2, etag)
            XCTAssertFalse(etag.dropFirst().dropLast().contains { $0 == "\"" || $0 == " " }, etag)
        }
        XCTAssertNotEqual(WebAssets.firehoseJSETag, WebAssets.demoHTMLETag)
    }
}
