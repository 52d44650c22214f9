import XCTest
@testable import FirehoseServer

/// `--trusted-proxies` matching and the access log's client address.
final class AddressRangeTests: XCTestCase {
    func testCIDRsAndAddressesMatchTheirFamilyOnly() throws {
        let ten = try XCTUnwrap(AddressRange("10.0.0.0/8"))
        XCTAssertTrue(ten.contains("10.255.1.2"))
        XCTAssertFalse(ten.contains("11.0.0.1"))
        XCTAssertTrue(ten.contains("::ffff:10.1.2.3"))  // IPv4-mapped counts as IPv4
        let odd = try XCTUnwrap(AddressRange("192.168.1.128/25"))
        XCTAssertTrue(odd.contains("192.168.1.200"))
        XCTAssertFalse(odd.contains("192.168.1.127"))
        let v6 = try XCTUnwrap(AddressRange("fd00::/8"))
        XCTAssertTrue(v6.contains("fd12::1"))
        XCTAssertFalse(v6.contains("10.0.0.1"))
        XCTAssertTrue(try XCTUnwrap(AddressRange("::1")).contains("::1"))
        for bad in ["", "10.0.0.0/33", "::/129", "example.com", "10.0.0.0/x"] { XCTAssertNil(AddressRange(bad), bad) }
    }

    func testForwardedForIsBelievedOnlyFromTrustedPeers() {
        let clients = ClientAddress(trusted: ["127.0.0.1", "10.0.0.0/8"].compactMap { AddressRange($0) })
        XCTAssertEqual(clients.resolve(peer: "127.0.0.1", forwardedFor: "203.0.113.9, 10.1.1.1"), "203.0.113.9")
        XCTAssertEqual(clients.resolve(peer: "127.0.0.1", forwardedFor: "198.51.100.1, 203.0.113.9"), "203.0.113.9")
        XCTAssertEqual(clients.resolve(peer: "192.0.2.7", forwardedFor: "203.0.113.9"), "192.0.2.7")
        XCTAssertEqual(clients.resolve(peer: "127.0.0.1", forwardedFor: nil), "127.0.0.1")
        XCTAssertEqual(clients.resolve(peer: "127.0.0.1", forwardedFor: "10.0.0.2"), "10.0.0.2")  // all trusted: the first
    }
}
