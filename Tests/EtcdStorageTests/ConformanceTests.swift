import EtcdStorage
import Foundation
import MemoryStore
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// Fresh WAL directories under one per-process temporary folder.
enum ConformanceDirectories {
    static let base: String = {
        let path = FileManager.default.temporaryDirectory.path + "/etcdwal-conformance-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func fresh() -> String { base + "/" + UUID().uuidString + "/wal" }
}

typealias ProtobufWALLog = WALLogStore<ProtobufRecordCodec>

func conformanceLogOptions() -> ProtobufWALLog.Options {
    // Small segments so cuts, releases and purges happen inside the suites' workloads.
    ProtobufWALLog.Options(wal: WALOptions(segmentSize: 16 * 1024), metadata: Array("conformance".utf8), retainedSegments: 2)
}

@Suite("WALLogStore conformance")
struct WALLogStoreConformanceTests {
    static let suite = LogStoreConformance(
        makeStore: { try ProtobufWALLog(directory: ConformanceDirectories.fresh(), codec: ProtobufRecordCodec(), options: conformanceLogOptions()) },
        // The suite closed the store.
        reopen: { store in try ProtobufWALLog(directory: store.directory, codec: store.codec, options: store.options) })

    @Test(arguments: suite.cases)
    func conformance(_ testCase: LogStoreConformance<ProtobufWALLog>.Case) throws {
        try Self.suite.run(testCase)
    }
}

/// The same cases on a simulated disk, crashing instead of closing: a reopen syncs and closes
/// first, so only a crash shows that what the WAL acknowledges is already durable.
@Suite("WALLogStore conformance through crashes")
struct WALLogStoreCrashConformanceTests {
    static let suite = LogStoreConformance(
        makeStore: { try FaultInjectedStores.newLog() },
        crash: { store in try FaultInjectedStores.crash(store) })

    @Test(arguments: suite.cases)
    func conformance(_ testCase: LogStoreConformance<ProtobufWALLog>.Case) throws {
        #expect(Self.suite.durabilityChecked)
        try Self.suite.run(testCase)
    }
}

@Suite("ProtobufRecordCodec conformance")
struct ProtobufRecordCodecConformanceTests {
    // etcd 3.4's walpb.Snapshot, which this writes by default, has no conf_state field.
    static let suite = RecordCodecConformance(makeCodec: { ProtobufRecordCodec() }, storesSnapshotMembership: false)
    static let writingConfState = RecordCodecConformance(makeCodec: { ProtobufRecordCodec(writesSnapshotConfState: true) })

    @Test(arguments: suite.cases)
    func conformance(_ testCase: RecordCodecConformance<ProtobufRecordCodec>.Case) throws {
        try Self.suite.run(testCase)
    }

    @Test(arguments: writingConfState.cases)
    func conformanceWritingConfState(_ testCase: RecordCodecConformance<ProtobufRecordCodec>.Case) throws {
        try Self.writingConfState.run(testCase)
    }
}

@Suite("Storage over WALLogStore and MemorySnapshotStore: restart conformance")
struct WALStorageConformanceTests {
    static let suite = StorageConformance(
        makeStore: {
            (try ProtobufWALLog(directory: ConformanceDirectories.fresh(), codec: ProtobufRecordCodec(), options: conformanceLogOptions()),
             MemorySnapshotStore())
        },
        // The suite closed the storage.
        reopen: { log, snapshots in
            (try ProtobufWALLog(directory: log.directory, codec: log.codec, options: log.options), snapshots)
        })

    @Test(arguments: suite.cases)
    func restart(_ testCase: StorageConformance<ProtobufWALLog, MemorySnapshotStore>.Case) throws {
        try Self.suite.run(testCase)
    }
}

/// Storage over the WAL and etcd's snapshot files on a simulated disk: restarts, crashes at the
/// same points, and the fallback to the older snapshot when the newest file is damaged.
@Suite("Storage over WALLogStore and EtcdSnapshotStore: crash conformance")
struct WALStorageCrashConformanceTests {
    typealias Suite = StorageConformance<ProtobufWALLog, SimulatedEtcdSnapshots>

    static let suite = Suite(
        makeStore: {
            let fileSystem = FaultInjectingFileSystem()
            return (try FaultInjectedStores.newLog(on: fileSystem), try SimulatedEtcdSnapshots(on: fileSystem))
        },
        reopen: { log, snapshots in (try FaultInjectedStores.reopen(log), try snapshots.reopened()) },
        crash: { log, snapshots in (try FaultInjectedStores.crash(log), try snapshots.reopened()) },
        damageNewestSnapshot: { snapshots in try snapshots.damageNewest() })

    @Test(arguments: suite.cases)
    func restart(_ testCase: Suite.Case) throws {
        try Self.suite.run(testCase)
    }

    @Test func checksDurabilityAndFallback() {
        #expect(Self.suite.durabilityChecked)
        #expect(Self.suite.cases.contains { $0.name == Suite.damageCases[0].name })
    }
}
