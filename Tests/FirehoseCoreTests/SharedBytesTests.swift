import XCTest
import FirehoseCore

/// `SharedBytes` (SharedBytes.swift): an immutable copy at a stable address.
final class SharedBytesTests: XCTestCase {
    func testHoldsACopy() {
        let cases: [[UInt8]] = [[], [0], Array("hello".utf8), [UInt8](repeating: 0xAB, count: 70_000), (0...255).map(UInt8.init)]
        for bytes in cases {
            var source = bytes
            let shared = SharedBytes(source)
            if !source.isEmpty { source[0] &+= 1 }
            XCTAssertEqual(shared.count, bytes.count)
            XCTAssertEqual(shared.bytes, bytes, "\(bytes.count) bytes: later changes to the source do not show")
            XCTAssertEqual(Array(UnsafeRawBufferPointer(start: shared.pointer, count: shared.count)), bytes)
        }
    }

    func testPointerIsStableAndAligned() {
        let shared = SharedBytes(Array("stable".utf8))
        let pointer = shared.pointer
        _ = shared.bytes
        XCTAssertEqual(shared.pointer, pointer)
        XCTAssertEqual(Int(bitPattern: pointer) % 16, 0)
        let empty = SharedBytes([]), otherEmpty = SharedBytes([])
        XCTAssertEqual(empty.count, 0)
        XCTAssertNotEqual(empty.pointer, otherEmpty.pointer, "even empty ones own their storage")
    }
}
