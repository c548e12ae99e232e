// swift-tools-version: 6.1
// A third-party backend, in its own package, that depends on the framework and proves itself
// with the framework's conformance suites.
import PackageDescription

let package = Package(
    name: "CustomBackend",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "raftstore", path: "../.."),
    ],
    targets: [
        .target(
            name: "DictionaryLog",
            dependencies: [.product(name: "RaftStorage", package: "raftstore")]
        ),
        .testTarget(
            name: "DictionaryLogTests",
            dependencies: [
                "DictionaryLog",
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "MemoryStore", package: "raftstore"),
                .product(name: "RaftStorageTesting", package: "raftstore"),
            ]
        ),
    ]
)
