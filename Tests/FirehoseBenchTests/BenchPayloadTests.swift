import XCTest
@testable import FirehoseBench

final class BenchPayloadTests: XCTestCase {
    func testPayloadHasTheRequestedSizeAndReadsBack() {
        let payload = BenchPayload.make(counter: 17, sentAt: 123_456_789, size: 100)
        XCTAssertEqual(payload.count, 100)
        XCTAssertTrue(payload.starts(with: Array("t=123456789 c=17 x".utf8)))
        let parsed = payload.withUnsafeBytes { BenchPayload.parse($0) }
        XCTAssertEqual(parsed?.counter, 17)
        XCTAssertEqual(parsed?.sentAt, 123_456_789)
    }

    func testReadsThePayloadInsideFirehoseAndNchanFraming() {
        let body = String(decoding: BenchPayload.make(counter: 3, sentAt: 42, size: 50), as: UTF8.self)
        let frames = [
            "{\"message\":\"\(body)\",\"last_sequence\":9}",
            "id: 1700000000:3\ncontent-type: text/plain\n\n\(body)",
            body,
        ]
        for frame in frames {
            let parsed = Array(frame.utf8).withUnsafeBytes { BenchPayload.parse($0) }
            XCTAssertEqual(parsed?.counter, 3, frame)
            XCTAssertEqual(parsed?.sentAt, 42, frame)
        }
    }

    func testRejectsWhatIsNotAPayload() {
        for text in ["", "hello", "t= c=1", "t=5", "at=5 c=1"] {
            XCTAssertNil(Array(text.utf8).withUnsafeBytes { BenchPayload.parse($0) }, text)
        }
    }

    func testLastSequence() {
        let cases: [(String, Int?)] = [
            ("{\"message\":\"x\",\"last_sequence\":12}", 12),
            ("{\"message\":\"\\\"last_sequence\\\":1\",\"last_sequence\":7}", 7),
            ("{\"message\":\"x\"}", nil),
        ]
        for (frame, expected) in cases {
            XCTAssertEqual(Array(frame.utf8).withUnsafeBytes { BenchPayload.lastSequence(in: $0) }, expected, frame)
        }
    }

    func testNchanMetaFraming() {
        let frame = Array("id: 1700000000:3\ncontent-type: text/plain\n\nbody".utf8)
        let meta = frame.withUnsafeBytes { NchanMeta.parse($0) }
        XCTAssertEqual(meta.id, "1700000000:3")
        XCTAssertEqual(String(decoding: frame[meta.bodyStart...], as: UTF8.self), "body")
        let plain = Array("t=1 c=1".utf8).withUnsafeBytes { NchanMeta.parse($0) }
        XCTAssertNil(plain.id)
        XCTAssertEqual(plain.bodyStart, 0)
    }
}
