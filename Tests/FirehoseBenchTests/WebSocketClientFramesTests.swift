import XCTest
@testable import FirehoseBench

final class WebSocketClientFramesTests: XCTestCase {
    func testReadsFramesOfEveryLengthEncoding() throws {
        for length in [0, 5, 125, 126, 65535, 65536, 70000] {
            var frame: [UInt8] = [0x81]
            if length < 126 {
                frame.append(UInt8(length))
            } else if length < 65536 {
                frame += [126, UInt8(length >> 8), UInt8(length & 0xff)]
            } else {
                frame.append(127)
                for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((length >> shift) & 0xff)) }
            }
            frame += [UInt8](repeating: 0x61, count: length)
            var reader = WebSocketFrameReader()
            frame.dropLast().withUnsafeBytes { reader.append($0) }
            if length > 0 { XCTAssertNil(try reader.next(), "\(length): incomplete") }
            frame.suffix(1).withUnsafeBytes { reader.append($0) }
            let parsed = try XCTUnwrap(reader.next(), "\(length)")
            XCTAssertEqual(parsed.opcode, 1)
            XCTAssertTrue(parsed.fin)
            XCTAssertEqual(parsed.payload.count, length)
        }
    }

    func testMaskedServerFramesAndHugeLengthsAreRefused() {
        var masked = WebSocketFrameReader()
        ([0x81, 0x81, 1, 2, 3, 4, 0x61] as [UInt8]).withUnsafeBytes { masked.append($0) }
        XCTAssertThrowsError(try masked.next())
        var huge = WebSocketFrameReader()
        ([0x82, 127, 0x7f, 0, 0, 0, 0, 0, 0, 0] as [UInt8]).withUnsafeBytes { huge.append($0) }
        XCTAssertThrowsError(try huge.next())
    }

    func testClientFramesAreMaskedAndDecodeBack() {
        let payload = Array("{\"last_message_sequence\":3}".utf8)
        let frame = WebSocketClientFrame.encode(opcode: WebSocketClientFrame.text, payload: payload)
        XCTAssertEqual(frame[0], 0x81)
        XCTAssertEqual(frame[1], 0x80 | UInt8(payload.count))
        let key = Array(frame[2..<6])
        let unmasked = frame[6...].enumerated().map { $0.element ^ key[$0.offset & 3] }
        XCTAssertEqual(unmasked, payload)
        let long = WebSocketClientFrame.encode(opcode: WebSocketClientFrame.text, payload: [UInt8](repeating: 1, count: 300))
        XCTAssertEqual(Array(long[1..<4]), [0x80 | 126, 1, 44])
    }
}
