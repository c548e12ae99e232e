import KeyValueStateMachine
import RaftStorage

/// The same key/value state machine driven the way a raft node drives storage: commands go
/// into a `RaftLog`, each round persists what the log hands out through the async `Storage`
/// API (durable on return, one fdatasync shared by concurrent saves), acknowledges it, and
/// applies what is committed. A single node commits what it persisted; with peers, raft's
/// commit index would come from the leader instead.
actor RaftLogNode<Log: LogStore, Snapshots: SnapshotStore> {
    private var log: RaftLog<Log, Snapshots>
    private(set) var state: KeyValueStateMachine
    private let term: UInt64 = 1
    private let snapshotInterval: UInt64
    /// The index of the snapshot being written: `propose` is reentrant (it awaits the disk), so
    /// a second call must not start a snapshot at the same index.
    private var snapshotting: UInt64 = 0

    /// Opens the node over `storage`: the state machine from the newest snapshot, the log at
    /// the stored commit, and the committed entries after the snapshot applied again.
    init(storage: Storage<Log, Snapshots>, snapshotInterval: UInt64 = 100) async throws {
        let snapshot = try storage.snapshot()
        state = snapshot.isEmpty ? KeyValueStateMachine() : try KeyValueStateMachine(snapshot: snapshot)
        log = try RaftLog(storage: storage)
        self.snapshotInterval = snapshotInterval
        try applyCommitted()
    }

    var storage: Storage<Log, Snapshots> { log.storage }
    var committed: UInt64 { log.committed }
    var applied: UInt64 { log.applied }

    /// Appends `commands`, one entry each, persists them, commits and applies them.
    func propose(_ commands: [KeyValueCommand]) async throws {
        let first = try log.lastIndex() + 1
        let index = try log.append(commands.enumerated().map { Entry(term: term, index: first + UInt64($0.offset), data: $0.element.bytes) })
        let write = log.beginWrite()
        try await log.storage.save(hardState: HardState(term: term, vote: 1, commit: log.committed), entries: write.entries)
        if let last = write.entries.last { log.stable(to: last.index, term: last.term) }
        // Persisted on the only node: committed. The commit reaches disk with the next save.
        try log.commit(to: index)
        try applyCommitted()
        if log.applied - max(log.storage.snapshotMetadata.index, snapshotting) >= snapshotInterval {
            snapshotting = log.applied
            let data = state.snapshotData()
            try await log.storage.save(hardState: HardState(term: term, vote: 1, commit: log.committed), entries: [])
            try await log.storage.createSnapshot(at: snapshotting, data: data)
        }
    }

    /// Makes the commit index durable too, for a clean shutdown.
    func close() async throws {
        try await log.storage.save(hardState: HardState(term: term, vote: 1, commit: log.committed), entries: [])
        try log.storage.close()
    }

    private func applyCommitted() throws {
        while log.hasEntriesToApply() {
            let batch = try log.beginApplying()
            for entry in batch { try state.apply(entry) }
            if let last = batch.last { try log.applied(to: last.index, bytes: batch.totalEncodedSize) }
        }
    }
}
