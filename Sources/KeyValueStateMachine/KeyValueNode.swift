public import RaftStorage

/// A key/value store that keeps its state through raft ``RaftStorage/Storage``: a single raft node that
/// is always the leader, so every entry it persists is committed at once.
///
/// Each ``propose(_:)`` appends the commands as log entries together with the HardState that
/// commits them, in one `Storage.save(hardState:entries:snapshot:)`, and applies them. Every
/// ``snapshotInterval`` entries it takes a snapshot of the state, which compacts the log.
///
/// Opening recovers: the newest snapshot the log agrees with is restored, the entries after it
/// are applied, and the node starts a new term with an empty entry, as a raft leader does
/// after an election. The same code runs over any backends:
///
/// ```swift
/// let node = try KeyValueNode(storage: Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore()))
/// try node.propose([.put(key: "greeting", value: "hello")])
/// ```
///
/// Not thread-safe: one task owns a node, as one raft state machine owns its storage.
public final class KeyValueNode<Log: LogStore, Snapshots: SnapshotStore> {
    /// The storage the node persists through.
    public let storage: Storage<Log, Snapshots>
    /// The applied state.
    public private(set) var state: KeyValueStateMachine
    /// The last HardState saved.
    public private(set) var hardState: HardState
    /// The node's id, recorded as its vote.
    public let nodeID: UInt64
    /// A snapshot is taken once this many entries were applied since the last one.
    public var snapshotInterval: UInt64
    /// What opening found.
    public let recovery: Recovery

    /// What a ``KeyValueNode`` recovered when it was opened.
    public struct Recovery: Hashable, Sendable {
        /// The snapshot the state was restored from; ``RaftStorage/SnapshotMarker/zero`` when none.
        public var snapshot: SnapshotMarker
        /// How many log entries were applied on top of it.
        public var replayedEntries: Int
        /// The last index in the log before the new term started.
        public var lastIndex: UInt64
        /// The term the node now leads.
        public var term: UInt64
    }

    /// Opens the node over `storage`, recovering its state.
    ///
    /// - Throws: whatever the storage throws while reading; ``RaftStorage/StorageError/Code/corrupt`` when
    ///   a snapshot or entry does not hold key/value data.
    public init(storage: Storage<Log, Snapshots>, nodeID: UInt64 = 1, snapshotInterval: UInt64 = 10_000) throws(StorageError) {
        self.storage = storage
        self.nodeID = nodeID
        self.snapshotInterval = max(1, snapshotInterval)
        let snapshot = try storage.snapshot()
        var state = snapshot.isEmpty ? KeyValueStateMachine() : try KeyValueStateMachine(snapshot: snapshot)
        // A single node's stable log is committed: it is the whole majority.
        let lastIndex = try storage.lastIndex()
        guard lastIndex < .max, state.appliedIndex < .max else {
            throw StorageError(.corrupt, "the log's last index \(lastIndex) leaves no index to follow")
        }
        var next = state.appliedIndex + 1
        while next <= lastIndex {
            for entry in try storage.entries(in: next..<(lastIndex + 1), maxBytes: 8 << 20) {
                try state.apply(entry)
            }
            next = state.appliedIndex + 1
        }
        let previous = try storage.initialState().hardState
        let lastTerm = try storage.term(at: lastIndex)
        guard max(previous.term, lastTerm) < .max else {
            throw StorageError(.corrupt, "the log's last term \(max(previous.term, lastTerm)) leaves no term for this node to lead")
        }
        let term = max(previous.term, lastTerm) + 1
        self.state = state
        self.hardState = previous
        self.recovery = Recovery(
            snapshot: snapshot.metadata.marker, replayedEntries: Int(lastIndex - snapshot.metadata.index),
            lastIndex: lastIndex, term: term)
        // raft's leader appends an empty entry of its new term; committing it commits the log.
        try append([Entry(term: term, index: lastIndex + 1)], term: term)
    }

    /// The value of `key`, or `nil`.
    public subscript(key: String) -> String? { state.values[key] }

    /// The index of the last entry applied.
    public var lastIndex: UInt64 { state.appliedIndex }

    /// Appends `commands` to the log, commits and applies them, and takes a snapshot when one
    /// is due.
    ///
    /// On return the commands are durable (new entries make raft's `MustSync` true, so the
    /// storage fsyncs before returning) and applied: this is when a client may be told.
    ///
    /// - Returns: the index of the last command's entry.
    @discardableResult
    public func propose(_ commands: [KeyValueCommand]) throws(StorageError) -> UInt64 {
        guard !commands.isEmpty else { return state.appliedIndex }
        let term = hardState.term
        let first = state.appliedIndex + 1
        let entries = commands.enumerated().map { offset, command in
            Entry(term: term, index: first + UInt64(offset), data: command.bytes)
        }
        try append(entries, term: term)
        if state.appliedIndex - storage.snapshotMetadata.index >= snapshotInterval {
            try takeSnapshot()
        }
        return state.appliedIndex
    }

    /// Saves a snapshot of the applied state (durable on return) and compacts the log behind it.
    public func takeSnapshot() throws(StorageError) {
        guard state.appliedIndex > storage.snapshotMetadata.index else { return }
        try storage.createSnapshot(
            at: state.appliedIndex, confState: ConfState(voters: [nodeID]), data: state.snapshotData())
    }

    /// Saves `entries` with the HardState that commits them, then applies them.
    private func append(_ entries: [Entry], term: UInt64) throws(StorageError) {
        let committed = HardState(term: term, vote: nodeID, commit: entries.last?.index ?? hardState.commit)
        try storage.save(hardState: committed, entries: entries)
        hardState = committed
        for entry in entries { try state.apply(entry) }
    }
}
