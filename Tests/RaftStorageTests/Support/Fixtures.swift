import MemoryStore
import RaftStorage

typealias MemoryStorage = Storage<MemoryLogStore, MemorySnapshotStore>
typealias MemoryRaftLog = RaftLog<MemoryLogStore, MemorySnapshotStore>

/// Entries from (index, term) pairs, without data, as in etcd's tables.
func entries(_ pairs: [(UInt64, UInt64)]) -> [Entry] { pairs.map { Entry(term: $0.1, index: $0.0) } }

/// Storage over memory stores, optionally starting after a snapshot (stored in both stores, with
/// a HardState committing it, the way a restarted node finds it), holding `stable` entries, and
/// then storing `hardState` when given.
func makeStorage(snapshot: (index: UInt64, term: UInt64)? = nil, stable: [Entry] = [], hardState: HardState? = nil) throws -> MemoryStorage {
    let log = MemoryLogStore()
    let snapshots = MemorySnapshotStore()
    if let snapshot {
        let metadata = SnapshotMetadata(index: snapshot.index, term: snapshot.term)
        try log.applySnapshot(metadata)
        try snapshots.save(Snapshot(data: [1], metadata: metadata))
        try log.setHardState(HardState(term: snapshot.term, commit: snapshot.index))
    }
    try log.append(stable)
    if let hardState {
        try log.setHardState(hardState)
    }
    return try Storage(log: log, snapshots: snapshots)
}
