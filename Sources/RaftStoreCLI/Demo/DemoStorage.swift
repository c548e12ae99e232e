import EtcdStorage
import KeyValueStateMachine
import LZ4Snapshots
import RaftStorage

/// The demo's store: the key/value node on an etcd-format WAL (`wal/`) and LZ4 snapshots
/// (`snap/`), the same composition as `Examples/KeyValueStore`.
typealias DemoNode = KeyValueNode<WALLogStore<ProtobufRecordCodec>, LZ4SnapshotStore<ProtobufRecordCodec>>

enum DemoStorage {
    static func open(_ directory: String) throws(StorageError) -> DemoNode {
        let logger = LogCollector().logger
        let log = try WALLogStore.open(
            at: Paths.join(directory, "wal"),
            options: .init(wal: WALOptions(segmentSize: DemoWorkload.segmentSize, logger: logger), retainedSegments: 3))
        let snapshots = try LZ4SnapshotStore(directory: Paths.join(directory, "snap"), codec: ProtobufRecordCodec(), logger: logger)
        let storage = try Storage(
            log: log, snapshots: snapshots,
            options: .init(retainedEntries: DemoWorkload.retainedEntries, retainedSnapshots: 3))
        return try KeyValueNode(storage: storage, snapshotInterval: DemoWorkload.snapshotInterval)
    }
}
