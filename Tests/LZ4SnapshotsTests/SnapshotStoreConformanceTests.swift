import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import RaftStorageTesting
import TestSupport
import Testing

/// The file snapshot stores pass the shared conformance suite, with reopening and with files
/// corrupted on disk. (MemorySnapshotStore runs it in MemoryStoreTests.)
@Suite("Snapshot store conformance")
struct SnapshotStoreConformanceTests {
    typealias LZ4Store = LZ4SnapshotStore<ProtobufRecordCodec>
    typealias GatheringStore = LZ4SnapshotStore<NonStreamingCodec>

    @Test(arguments: SnapshotStoreConformance<LZ4Store>.cases)
    func lz4(_ testCase: SnapshotStoreConformance<LZ4Store>.Case) throws {
        try withTemporaryDirectory("conformance") { base in
            try SnapshotStoreConformance(
                makeStore: { try LZ4Store(directory: base.file(UUID().uuidString), codec: ProtobufRecordCodec()) },
                reopen: { try LZ4Store(directory: $0.directory, codec: $0.codec) },
                corrupt: { store, marker in try flipMiddleBit(of: store.filePath(of: marker)) }
            ).run(testCase)
        }
    }

    @Test(arguments: SnapshotStoreConformance<GatheringStore>.cases)
    func lz4WithNonStreamingCodec(_ testCase: SnapshotStoreConformance<GatheringStore>.Case) throws {
        try withTemporaryDirectory("conformance") { base in
            try SnapshotStoreConformance(
                makeStore: { try GatheringStore(directory: base.file(UUID().uuidString), codec: NonStreamingCodec()) },
                reopen: { try GatheringStore(directory: $0.directory, codec: $0.codec) },
                corrupt: { store, marker in try flipMiddleBit(of: store.filePath(of: marker)) }
            ).run(testCase)
        }
    }

    @Test(arguments: SnapshotStoreConformance<EtcdSnapshotStore>.cases)
    func etcd(_ testCase: SnapshotStoreConformance<EtcdSnapshotStore>.Case) throws {
        try withTemporaryDirectory("conformance") { base in
            try SnapshotStoreConformance(
                makeStore: { try EtcdSnapshotStore(directory: base.file(UUID().uuidString)) },
                reopen: { try EtcdSnapshotStore(directory: $0.directory) },
                corrupt: { store, marker in try flipMiddleBit(of: store.filePath(of: marker)) }
            ).run(testCase)
        }
    }
}
