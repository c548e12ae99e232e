import EtcdStorage
import KeyValueStateMachine
import LZ4Snapshots
import MultiRaftLog
import RaftStorage

/// The key/value store split into shards, each its own raft group, all on one multi-group log:
/// `engine.log(for: shard)` is each shard's `LogStore` under `Storage`, with a snapshot
/// directory of its own.
///
/// A proposal that touches several shards is one `WriteBatch` (every shard's new entries and
/// the HardState that commits them), made durable by one fdatasync whatever the number of
/// shards, and recovered all or nothing. Each shard is a single node that leads term 1, so
/// what it persists is committed at once; with peers, raft's commit index would come from the
/// leader instead.
///
/// Not thread-safe: one task owns the store, as one raft loop owns its groups.
final class ShardedKeyValueStore {
    typealias ShardStorage = Storage<GroupLog, LZ4SnapshotStore<ProtobufRecordCodec>>

    /// One shard: its group's storage and its applied state.
    struct Shard {
        let id: UInt64
        let storage: ShardStorage
        var state: KeyValueStateMachine
        /// What opening found: the snapshot restored and how many entries were applied after it.
        let restoredSnapshot: UInt64
        let replayedEntries: Int
    }

    let engine: LogEngine
    private(set) var shards: [Shard]
    let snapshotInterval: UInt64
    private let term: UInt64 = 1

    /// Opens (or creates) the store in `directory`: the log in `log/`, shard `n`'s snapshots in
    /// `snap-n/`. Each shard restores its newest snapshot and applies the entries after it.
    init(directory: String, shardCount: Int, snapshotInterval: UInt64) throws {
        engine = try LogEngine(directory: directory + "/log")
        self.snapshotInterval = snapshotInterval
        shards = []
        for id in 1...UInt64(shardCount) {
            // A short tail of entries behind each snapshot, so compaction shows in a small run.
            let storage = try Storage(
                log: engine.log(for: id), snapshots: LZ4SnapshotStore(directory: directory + "/snap-\(id)", codec: ProtobufRecordCodec()),
                options: .init(retainedEntries: 20, retainedSnapshots: 2))
            shards.append(try Self.recover(id, storage))
        }
    }

    /// The state a shard's storage holds: its newest snapshot, then every committed entry.
    private static func recover(_ id: UInt64, _ storage: ShardStorage) throws -> Shard {
        let snapshot = try storage.snapshot()
        var state = snapshot.isEmpty ? KeyValueStateMachine() : try KeyValueStateMachine(snapshot: snapshot)
        let commit = try storage.initialState().hardState.commit
        var replayed = 0
        while state.appliedIndex < commit {
            let entries = try storage.entries(in: (state.appliedIndex + 1)..<(commit + 1), maxBytes: 4 << 20)
            for entry in entries { try state.apply(entry) }
            replayed += entries.count
        }
        return Shard(id: id, storage: storage, state: state, restoredSnapshot: snapshot.metadata.index, replayedEntries: replayed)
    }

    /// The shard a key lives in: a hash that is the same in every process (Swift's `Hasher`
    /// is seeded per process, so a restart would move keys).
    func shard(of key: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(shards.count))
    }

    /// Appends each command to its shard's log, all shards in one batch, durable on return;
    /// then applies them, and snapshots the shards that are due.
    func propose(_ commands: [KeyValueCommand]) async throws {
        var byShard: [Int: [KeyValueCommand]] = [:]
        for command in commands {
            switch command {
            case .put(let key, _), .delete(let key): byShard[shard(of: key), default: []].append(command)
            }
        }
        var batch = WriteBatch()
        var written: [Int: [Entry]] = [:]
        for (position, commands) in byShard {
            let shard = shards[position]
            let first = shard.state.appliedIndex + 1
            let entries = commands.enumerated().map { Entry(term: term, index: first + UInt64($0.offset), data: $0.element.bytes) }
            batch.save(hardState: HardState(term: term, vote: 1, commit: first + UInt64(entries.count) - 1), entries: entries, for: shard.id)
            written[position] = entries
        }
        try await engine.writeDurably(batch)
        for (position, entries) in written {
            for entry in entries { try shards[position].state.apply(entry) }
            let shard = shards[position]
            if shard.state.appliedIndex - shard.storage.snapshotMetadata.index >= snapshotInterval {
                try await shard.storage.createSnapshot(at: shard.state.appliedIndex, confState: ConfState(voters: [1]), data: shard.state.snapshotData())
            }
        }
    }

    /// Every key of every shard.
    var values: [String: String] {
        shards.reduce(into: [:]) { all, shard in all.merge(shard.state.values) { $1 } }
    }

    /// Closes every shard's storage, then the engine (which syncs).
    func close() throws {
        for shard in shards { try shard.storage.close() }
        try engine.close()
    }
}

/// Writes to three shards on one log, batch by batch, reopens, and checks every shard came back.
func demonstrateShards(in directory: String) async throws {
    let store = try ShardedKeyValueStore(directory: directory, shardCount: 3, snapshotInterval: 40)
    for round in 0..<50 {
        // Six keys a round, spread over the shards: one record and one fdatasync for all of them.
        try await store.propose((0..<6).map { .put(key: "user-\((round * 6 + $0) % 45)", value: "round \(round)") })
    }
    try await store.propose([.delete(key: "user-7")])
    let written = store.values
    let shards = store.shards.map { "shard \($0.id): \($0.state.values.count) keys, index \($0.state.appliedIndex), snapshot \($0.storage.snapshotMetadata.index)" }
    print("3 shards on one multi-group log: 301 commands in 51 batches; " + shards.joined(separator: "; "))
    try store.close()

    let reopened = try ShardedKeyValueStore(directory: directory, shardCount: 3, snapshotInterval: 40)
    let recovered = reopened.shards.map { "shard \($0.id) from snapshot \($0.restoredSnapshot) + \($0.replayedEntries) entries" }
    let same = reopened.values == written
    print("reopened: " + recovered.joined(separator: ", ") + "; same state: \(same)")
    try reopened.close()
    guard same else { throw StorageError(.invariantViolation, "the shards did not recover what was written", path: directory) }
}
