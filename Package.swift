// swift-tools-version: 6.1
import PackageDescription

/// Settings every Swift target shares (applied once, at the end of this file): Swift 6
/// strictness plus the upcoming features the anchor packages (swift-log, swift-nio) turn on, so
/// no C or dependency type leaks into API.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "raftstore",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RaftStorage", targets: ["RaftStorage"]),
        .library(name: "RaftFiles", targets: ["RaftFiles"]),
        .library(name: "MemoryStore", targets: ["MemoryStore"]),
        .library(name: "EtcdStorage", targets: ["EtcdStorage"]),
        .library(name: "MultiRaftLog", targets: ["MultiRaftLog"]),
        .library(name: "LZ4Snapshots", targets: ["LZ4Snapshots"]),
        .library(name: "LZ4Codec", targets: ["LZ4Codec"]),
        .library(name: "RaftStorageTesting", targets: ["RaftStorageTesting"]),
        // The CLI's commands as a library (for the JSON-import fuzz target in Fuzz/).
        .library(name: "RaftStoreCLI", targets: ["RaftStoreCLI"]),
        .executable(name: "raftstore", targets: ["raftstore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - Core: value types, protocols, Storage, RaftLog; nothing touches a file
        .target(name: "RaftStorage"),

        // MARK: - What file backends share: the file-system seam, POSIX, codecs, CRC32C, snapshot directories
        .target(name: "CCRC32C"),
        .target(name: "RaftFiles", dependencies: ["RaftStorage", "CCRC32C"]),

        // MARK: - Backends
        .target(name: "MemoryStore", dependencies: ["RaftStorage"]),
        .target(
            name: "EtcdStorage",
            dependencies: [
                "RaftStorage", "RaftFiles", "CCRC32C",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Many raft groups sharing one append-only log of write batches.
        .target(name: "MultiRaftLog", dependencies: ["RaftStorage", "RaftFiles"]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .target(name: "CXXHash"),
        .target(
            name: "LZ4Snapshots",
            dependencies: [
                "RaftStorage", "RaftFiles", "CLZ4", "CXXHash",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(name: "LZ4Codec", dependencies: ["RaftStorage", "RaftFiles", "CLZ4"]),

        // MARK: - Conformance kit
        .target(name: "RaftStorageTesting", dependencies: ["RaftStorage", "RaftFiles"]),

        // MARK: - Tool
        // The commands live in a library so tests can call them; the executable only runs them.
        .target(
            name: "RaftStoreCLI",
            dependencies: [
                "RaftStorage", "RaftFiles", "MemoryStore", "EtcdStorage", "MultiRaftLog", "LZ4Snapshots", "LZ4Codec", "KeyValueStateMachine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "raftstore", dependencies: ["RaftStoreCLI"]),

        // MARK: - Benchmarks (not products; `make bench-snapshots`)
        .executableTarget(
            name: "SnapshotBenchmark",
            dependencies: ["RaftStorage", "RaftFiles", "EtcdStorage", "LZ4Snapshots", "RaftStorageTesting"],
            path: "Benchmarks/SnapshotBenchmark"
        ),

        .executableTarget(
            name: "WALBenchmark",
            dependencies: ["RaftStorage", "RaftFiles", "EtcdStorage", "MultiRaftLog", "RaftStorageTesting", "CCRC32C"],
            path: "Benchmarks/WALBenchmark"
        ),

        // MARK: - Reliability
        // The child process the process-crash tests kill (Tests/EtcdStorageTests/ProcessCrash, Tests/MultiRaftLogTests).
        .executableTarget(
            name: "CrashWorker",
            dependencies: [
                "RaftStorage", "RaftFiles", "EtcdStorage", "LZ4Snapshots", "MultiRaftLog", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Counts every heap allocation of the process that links it by interposing malloc and
        // friends (glibc), so only AllocationProbe may depend on it: never a library, a product
        // or a test target.
        .target(name: "CMallocCounter"),
        // Feeds each decoder hostile length fields and prints the allocations it made, one JSON
        // line per case; Tests/EtcdStorageTests/AllocationBoundTests.swift checks them against the
        // documented bounds (Docs/Reliability.md). Not a product.
        .executableTarget(
            name: "AllocationProbe",
            dependencies: [
                "RaftStorage", "LZ4Codec", "RaftFiles", "EtcdStorage", "MultiRaftLog", "LZ4Snapshots", "RaftStoreCLI", "CXXHash", "CMallocCounter",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),

        // The key/value state machine `raftstore demo` runs, and the KeyValueStore example too.
        .target(name: "KeyValueStateMachine", dependencies: ["RaftStorage"]),

        // MARK: - Examples
        .executableTarget(
            name: "KeyValueStore",
            dependencies: ["RaftStorage", "RaftFiles", "MemoryStore", "EtcdStorage", "MultiRaftLog", "LZ4Snapshots", "KeyValueStateMachine"],
            path: "Examples/KeyValueStore/Sources/KeyValueStore"
        ),
        .executableTarget(
            name: "EtcdInspector",
            dependencies: ["RaftStorage", "RaftFiles", "EtcdStorage"],
            path: "Examples/EtcdInspector"
        ),

        // MARK: - Tests
        // The helpers the test targets share: temporary directories, file bytes, the package's
        // paths and built executables, real etcd servers, the outside tools tests need (skipped
        // with the command to run them under a plain `swift test`), a third-party-style codec.
        // Foundation, the C library, Swift Testing and the core modules.
        .target(name: "TestSupport", dependencies: ["RaftStorage", "RaftFiles", "RaftStorageTesting"], path: "Tests/TestSupport"),
        .testTarget(
            name: "RaftStorageTests",
            dependencies: ["RaftStorage", "RaftFiles", "MemoryStore", "RaftStorageTesting", "TestSupport"]
        ),
        .testTarget(
            name: "EtcdStorageTests",
            dependencies: [
                "RaftStorage", "RaftFiles", "EtcdStorage", "MemoryStore", "RaftStorageTesting", "TestSupport", "CCRC32C",
                "LZ4Snapshots",  // the Storage process-crash test reopens the worker's LZ4 snapshots
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "LZ4SnapshotsTests",
            // EtcdStorage and MemoryStore also for the README's backend-swap snippet (ReadmeSnippetTests).
            dependencies: [
                "RaftStorage", "LZ4Codec", "RaftFiles", "LZ4Snapshots", "EtcdStorage", "MemoryStore", "RaftStorageTesting", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "RaftStoreCLITests",
            dependencies: [
                "RaftStoreCLI", "RaftStorage", "LZ4Codec", "RaftFiles", "EtcdStorage", "MultiRaftLog", "LZ4Snapshots", "MemoryStore",
                "KeyValueStateMachine", "TestSupport",
            ]
        ),
        .testTarget(
            name: "MultiRaftLogTests",
            dependencies: [
                "RaftStorage", "RaftFiles", "MultiRaftLog", "MemoryStore", "EtcdStorage", "RaftStorageTesting", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "MemoryStoreTests",
            dependencies: ["RaftStorage", "MemoryStore", "RaftStorageTesting", "TestSupport"]
        ),
    ]
)

for target in package.targets where target.type != .system && !["CCRC32C", "CXXHash", "CMallocCounter"].contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + strictSettings
}
