// swift-tools-version: 6.1
import PackageDescription

/// Settings every Swift target shares: Swift 6 strictness plus the upcoming features the
/// anchor packages (swift-log, swift-nio) turn on, so no C or dependency type leaks into API.
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
        .library(name: "MemoryStore", targets: ["MemoryStore"]),
        .library(name: "EtcdWAL", targets: ["EtcdWAL"]),
        .library(name: "LZ4Snapshots", targets: ["LZ4Snapshots"]),
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
        // MARK: - Core
        .target(name: "RaftStorage", swiftSettings: strictSettings),

        // MARK: - Backends
        .target(name: "MemoryStore", dependencies: ["RaftStorage"], swiftSettings: strictSettings),
        .target(name: "CCRC32C"),
        .target(
            name: "EtcdWAL",
            dependencies: [
                "RaftStorage", "CCRC32C",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .target(name: "CXXHash"),
        .target(
            name: "LZ4Snapshots",
            dependencies: [
                "RaftStorage", "CLZ4", "CXXHash",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: - Conformance kit
        .target(name: "RaftStorageTesting", dependencies: ["RaftStorage"], swiftSettings: strictSettings),

        // MARK: - Tool
        // The commands live in a library so tests can call them; the executable only runs them.
        .target(
            name: "RaftStoreCLI",
            dependencies: [
                "RaftStorage", "MemoryStore", "EtcdWAL", "LZ4Snapshots", "KeyValueStateMachine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "raftstore", dependencies: ["RaftStoreCLI"], swiftSettings: strictSettings),

        // MARK: - Benchmarks (not products; `make bench-snapshots`)
        .executableTarget(
            name: "SnapshotBenchmark",
            dependencies: ["RaftStorage", "EtcdWAL", "LZ4Snapshots", "RaftStorageTesting"],
            path: "Benchmarks/SnapshotBenchmark",
            swiftSettings: strictSettings
        ),

        .executableTarget(
            name: "WALBenchmark",
            dependencies: ["RaftStorage", "EtcdWAL", "RaftStorageTesting", "CCRC32C"],
            path: "Benchmarks/WALBenchmark",
            swiftSettings: strictSettings
        ),

        // MARK: - Reliability
        // The child process the process-crash tests kill (Tests/EtcdWALTests/ProcessCrash).
        .executableTarget(
            name: "CrashWorker",
            dependencies: ["RaftStorage", "EtcdWAL", "LZ4Snapshots", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // Counts every heap allocation of the process that links it by interposing malloc and
        // friends (glibc), so only AllocationProbe may depend on it: never a library, a product
        // or a test target.
        .target(name: "CMallocCounter"),
        // Feeds each decoder hostile length fields and prints the allocations it made, one JSON
        // line per case; Tests/EtcdWALTests/AllocationBoundTests.swift checks them against the
        // documented bounds (Docs/Reliability.md). Not a product.
        .executableTarget(
            name: "AllocationProbe",
            dependencies: [
                "RaftStorage", "EtcdWAL", "LZ4Snapshots", "RaftStoreCLI", "CXXHash", "CMallocCounter",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: - Examples
        // The key/value state machine is a library so `raftstore demo` runs the same code.
        .target(
            name: "KeyValueStateMachine",
            dependencies: ["RaftStorage"],
            path: "Examples/KeyValueStore/Sources/KeyValueStateMachine",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "KeyValueStore",
            dependencies: ["RaftStorage", "MemoryStore", "EtcdWAL", "LZ4Snapshots", "KeyValueStateMachine"],
            path: "Examples/KeyValueStore/Sources/KeyValueStore",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "EtcdInspector",
            dependencies: ["RaftStorage", "EtcdWAL"],
            path: "Examples/EtcdInspector",
            swiftSettings: strictSettings
        ),

        // MARK: - Tests
        // Starts real etcd servers for the tests of every target that runs one.
        .target(name: "EtcdTestSupport", path: "Tests/EtcdTestSupport", swiftSettings: strictSettings),
        .testTarget(
            name: "RaftStorageTests",
            // EtcdWAL and LZ4Snapshots for the README's backend-swap snippet only.
            dependencies: ["RaftStorage", "MemoryStore", "RaftStorageTesting", "EtcdWAL", "LZ4Snapshots"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EtcdWALTests",
            dependencies: [
                "RaftStorage", "EtcdWAL", "MemoryStore", "RaftStorageTesting", "EtcdTestSupport", "CCRC32C",
                "LZ4Snapshots",  // the Storage process-crash test reopens the worker's LZ4 snapshots
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LZ4SnapshotsTests",
            dependencies: [
                "RaftStorage", "LZ4Snapshots", "EtcdWAL", "MemoryStore", "RaftStorageTesting", "EtcdTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RaftStoreCLITests",
            dependencies: [
                "RaftStoreCLI", "RaftStorage", "EtcdWAL", "LZ4Snapshots", "MemoryStore", "KeyValueStateMachine",
                "EtcdTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MemoryStoreTests",
            dependencies: ["RaftStorage", "MemoryStore", "RaftStorageTesting"],
            swiftSettings: strictSettings
        ),
    ]
)
