// swift-tools-version: 6.1
// A third-party backend, in its own package, that depends on the framework and proves itself
// with the framework's conformance suites.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder (lower-cased), whatever the checkout is
// called; a dependency by URL is named after the URL's last component instead.
let framework = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL.lastPathComponent.lowercased()

let package = Package(
    name: "CustomBackend",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
    ],
    targets: [
        .target(
            name: "DictionaryLog",
            dependencies: [.product(name: "RaftStorage", package: framework)]
        ),
        .testTarget(
            name: "DictionaryLogTests",
            dependencies: [
                "DictionaryLog",
                .product(name: "RaftStorage", package: framework),
                .product(name: "MemoryStore", package: framework),
                .product(name: "EtcdStorage", package: framework),
                .product(name: "RaftStorageTesting", package: framework),
            ]
        ),
    ]
)
