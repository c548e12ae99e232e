// swift-tools-version: 6.1
// libFuzzer targets, in their own package so the library's build never compiles them.
// Built and run by `make fuzz` / `make fuzz-smoke` (see Docs/Reliability.md):
//
//   swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address
//
// Each target's main.swift hands its test function to libFuzzer's LLVMFuzzerRunDriver.
import PackageDescription

let package = Package(
    name: "RaftStoreFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "raftstore", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"]),
        .executableTarget(
            name: "FuzzRecordCodec",
            dependencies: [
                "FuzzSupport",
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "EtcdStorage", package: "raftstore"),
                .product(name: "RaftFiles", package: "raftstore"),
            ]
        ),
        .target(
            name: "FuzzSnapshotSupport",
            dependencies: [
                "FuzzSupport",
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "RaftStorageTesting", package: "raftstore"),
            ]
        ),
        .executableTarget(
            name: "FuzzSnap",
            dependencies: [
                "FuzzSupport", "FuzzSnapshotSupport",
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "EtcdStorage", package: "raftstore"),
                .product(name: "RaftFiles", package: "raftstore"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "FuzzSnapLZ4",
            dependencies: [
                "FuzzSupport", "FuzzSnapshotSupport",
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "EtcdStorage", package: "raftstore"),
                .product(name: "RaftFiles", package: "raftstore"),
                .product(name: "LZ4Snapshots", package: "raftstore"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "FuzzJSONImport",
            dependencies: ["FuzzSupport", .product(name: "RaftStoreCLI", package: "raftstore")]
        ),
        .executableTarget(
            name: "FuzzSeeds",
            dependencies: [
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "EtcdStorage", package: "raftstore"),
                .product(name: "RaftFiles", package: "raftstore"),
                .product(name: "LZ4Snapshots", package: "raftstore"),
                .product(name: "MultiRaftLog", package: "raftstore"),
                .product(name: "RaftStorageTesting", package: "raftstore"),
                .product(name: "RaftStoreCLI", package: "raftstore"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "FuzzEngineBatch",
            dependencies: [
                "FuzzSupport",
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "RaftFiles", package: "raftstore"),
                .product(name: "MultiRaftLog", package: "raftstore"),
                .product(name: "RaftStorageTesting", package: "raftstore"),
            ]
        ),
        .executableTarget(
            name: "FuzzWALReplay",
            dependencies: [
                "FuzzSupport",
                .product(name: "RaftStorage", package: "raftstore"),
                .product(name: "EtcdStorage", package: "raftstore"),
                .product(name: "RaftFiles", package: "raftstore"),
                .product(name: "RaftStorageTesting", package: "raftstore"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
