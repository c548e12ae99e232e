import EtcdWAL
import Foundation
import MemoryStore
import RaftStorage
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
        reopen: { store in
            try store.close()
            return try ProtobufWALLog(directory: store.directory, codec: store.codec, options: store.options)
        })

    @Test(arguments: LogStoreConformance<ProtobufWALLog>.cases)
    func conformance(_ testCase: LogStoreConformance<ProtobufWALLog>.Case) throws {
        try Self.suite.run(testCase)
    }
}

@Suite("ProtobufRecordCodec conformance")
struct ProtobufRecordCodecConformanceTests {
    @Test(arguments: RecordCodecConformance<ProtobufRecordCodec>.cases)
    func conformance(_ testCase: RecordCodecConformance<ProtobufRecordCodec>.Case) throws {
        try RecordCodecConformance(codec: ProtobufRecordCodec()).run(testCase)
    }

    @Test(arguments: RecordCodecConformance<ProtobufRecordCodec>.cases)
    func conformanceWritingConfState(_ testCase: RecordCodecConformance<ProtobufRecordCodec>.Case) throws {
        try RecordCodecConformance(codec: ProtobufRecordCodec(writesSnapshotConfState: true)).run(testCase)
    }
}

@Suite("Storage over WALLogStore and MemorySnapshotStore: restart conformance")
struct WALStorageConformanceTests {
    static let suite = StorageConformance(
        make: {
            (try ProtobufWALLog(directory: ConformanceDirectories.fresh(), codec: ProtobufRecordCodec(), options: conformanceLogOptions()),
             MemorySnapshotStore())
        },
        reopen: { log, snapshots in
            (try ProtobufWALLog(directory: log.directory, codec: log.codec, options: log.options), snapshots)
        })

    @Test(arguments: suite.cases)
    func restart(_ testCase: StorageConformance<ProtobufWALLog, MemorySnapshotStore>.Case) throws {
        try Self.suite.run(testCase)
    }
}
