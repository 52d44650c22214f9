// swift-tools-version:6.0
import PackageDescription

/// Release builds skip the run-time exclusivity checks (debug builds and the tests keep them): all
/// server state is confined to one loop thread, and the checks' thread-local bookkeeping measured
/// 7% of the server's user-space instructions per long-poll request (callgrind).
let releaseSpeed: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "firehose-swift",
    products: [
        .executable(name: "firehose", targets: ["firehose"]),
        .executable(name: "firehose-bench", targets: ["firehose-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // C libraries from Debian; the shims include system headers first (see the module maps).
        .systemLibrary(
            name: "CLibevent",
            pkgConfig: "libevent_pthreads",
            providers: [.apt(["libevent-dev"])]
        ),
        .systemLibrary(
            name: "CHTTPParser",
            providers: [.apt(["libhttp-parser-dev"])]
        ),
        // No pkgConfig: hiredis.pc only adds a prohibited flag and a wrong libdir.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CWslay",
            providers: [.apt(["libwslay-dev"])]
        ),
        // Pure protocol logic: no I/O, no C, fully unit-tested.
        .target(name: "FirehoseCore", swiftSettings: releaseSpeed),
        // Access control core: JWT verification (HS256, RS256, ES256) and channel patterns; pure, no I/O.
        .target(
            name: "FirehoseAuth",
            dependencies: [
                "FirehoseCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: releaseSpeed
        ),
        // The libevent server: I/O layer, transports, backends.
        .target(
            name: "FirehoseServer",
            dependencies: ["FirehoseCore", "FirehoseWebAssets", "CLibevent", "CHTTPParser", "CWslay", "CHiredis"],
            swiftSettings: releaseSpeed
        ),
        // Blocking HTTP client pieces for the command-line clients and the tests.
        .target(name: "FirehoseClient", dependencies: ["FirehoseCore"]),
        // The version (from VERSION) and commit, generated at build time: nothing generated is committed.
        .executableTarget(name: "generate-build-info"),
        .plugin(name: "BuildInfoPlugin", capability: .buildTool(), dependencies: ["generate-build-info"]),
        .target(name: "FirehoseBuildInfo", plugins: ["BuildInfoPlugin"]),
        .executableTarget(
            name: "firehose",
            dependencies: [
                "FirehoseServer",
                "FirehoseClient",
                "FirehoseCore",
                "FirehoseBuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The load generator: its own libevent loop and clients, sharing nothing with the server.
        .target(name: "FirehoseBench", dependencies: ["CLibevent"]),
        .executableTarget(
            name: "firehose-bench",
            dependencies: ["FirehoseBench", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The browser files of web/ (firehose.js, demo.html), turned into byte arrays at build time
        // by the EmbedWebAssets plugin so the binary serves them with nothing installed beside it.
        .executableTarget(name: "embed-web-assets"),
        .plugin(name: "EmbedWebAssets", capability: .buildTool(), dependencies: ["embed-web-assets"]),
        .target(name: "FirehoseWebAssets", plugins: ["EmbedWebAssets"]),
        .testTarget(name: "FirehoseWebAssetsTests", dependencies: ["FirehoseWebAssets"]),
        .testTarget(name: "FirehoseBenchTests", dependencies: ["FirehoseBench", "FirehoseServer", "FirehoseCore"]),
        .testTarget(name: "FirehoseBuildInfoTests", dependencies: ["FirehoseBuildInfo"]),
        .testTarget(name: "FirehoseCoreTests", dependencies: ["FirehoseCore"]),
        // The tests also generate their own keys with swift-crypto (no key files committed).
        .testTarget(
            name: "FirehoseAuthTests",
            dependencies: [
                "FirehoseAuth",
                "FirehoseCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "FirehoseServerTests", dependencies: ["FirehoseServer", "FirehoseCore", "FirehoseClient"]),
    ],
    swiftLanguageModes: [.v6]
)
