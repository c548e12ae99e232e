/// The stable part of a raft log: entries, the ``HardState`` and the snapshot boundary.
///
/// A `LogStore` answers the questions raft's `Storage` interface asks (``firstIndex()``,
/// ``lastIndex()``, ``term(at:)``, ``entries(in:maxBytes:)``) and persists what raft hands it.
/// Backends: `MemoryLogStore` (etcd's `MemoryStorage`, exactly), the etcd-compatible
/// write-ahead log `WALLogStore`, and `GroupLog`, one raft group's view of a multi-group
/// `LogEngine`. Compose one with a ``SnapshotStore`` in ``Storage``.
///
/// ## The log's shape
///
/// The log starts just after a *boundary*, the (index, term) of the last entry that was
/// compacted or covered by a snapshot; `(0, 0)` for a new log. ``firstIndex()`` is
/// `boundary.index + 1`, ``term(at:)`` answers for the boundary itself (raft needs it to match
/// the entry before the first one), and entries follow without gaps up to ``lastIndex()``.
/// An empty log has `firstIndex == lastIndex + 1`.
///
/// ## Implementation requirements
///
/// `RaftStorageTesting.LogStoreConformance` checks every rule below; run it against your
/// backend (see `Docs/Backends.md`).
///
/// - Reads follow etcd's `MemoryStorage`:
///   - ``term(at:)`` throws ``StorageError/Code/compacted`` for an index below the boundary
///     and ``StorageError/Code/unavailable`` for one above ``lastIndex()``.
///   - ``entries(in:maxBytes:)`` throws `compacted` when the range starts at or below the
///     boundary, `unavailable` when it ends past `lastIndex + 1` or the log holds no entries,
///     and otherwise returns the entries in the range cut to `maxBytes` (measured as
///     ``Entry/encodedSize``), **always at least one entry** when the range is not empty.
/// - ``save(hardState:entries:)`` appends like `MemoryStorage.Append`: entries at or below the
///   boundary are dropped, an entry at an index the log already holds replaces it **and every
///   entry after it** (raft paper, Fig. 7), and a batch that would leave a gap after
///   ``lastIndex()`` throws ``StorageError/Code/invalidArgument`` without changing anything.
///   A non-empty HardState replaces the stored one; ``HardState/empty`` means "unchanged".
/// - A non-empty HardState keeps raft's invariants, or the save throws `invalidArgument` without
///   changing anything (check with ``HardState/validate(replacing:lastIndexAfterSave:)`` before
///   writing):
///   - its commit is at most the last index after the save: the batch's last entry when the
///     batch holds any entry above the boundary (even when it replaces a longer tail), otherwise
///     the current ``lastIndex()``;
///   - its term is not lower than the stored HardState's;
///   - in the stored HardState's term, its vote is the stored vote unless that is 0: a vote,
///     once cast in a term, never changes within it.
///
///   The rules leave a commit lower than the stored one alone (`MemoryStorage` accepts it).
/// - Durability: when ``save(hardState:entries:)`` returns, the batch is durable if
///   ``HardState/mustSync(previous:entryCount:)`` says so (new entries, or a new term or vote);
///   a commit-only change may stay buffered until the next sync. ``sync()`` makes everything
///   saved so far durable. ``applySnapshot(_:)`` and ``recordSnapshot(_:)`` are durable when
///   they return. An in-memory store has nothing to sync.
/// - ``applySnapshot(_:)`` (a snapshot received from the leader) moves the boundary to the
///   snapshot and drops **every** entry, as `MemoryStorage.ApplySnapshot` does; it throws
///   ``StorageError/Code/snapshotOutOfDate`` unless the snapshot is newer than
///   ``snapshotMarker()``.
/// - ``recordSnapshot(_:)`` (a snapshot taken locally) records the marker and keeps every
///   entry, as `MemoryStorage.CreateSnapshot` does; it throws `snapshotOutOfDate` unless the
///   index is above ``snapshotMarker()``, `unavailable` past ``lastIndex()``, `compacted` below
///   the boundary and `invalidArgument` when the term is not the log's term at that index.
/// - ``compact(through:)`` moves the boundary to `index` and drops the entries up to it; it
///   throws `compacted` when `index` is at or below the boundary and `unavailable` past
///   ``lastIndex()``. A durable store frees the space later, and never before a snapshot at or
///   after `index` is recorded and a HardState committing it is durable (etcd #10219).
/// - After a restart (closing and opening the store again) a durable store holds the same
///   HardState (as of the last sync), the same ``lastIndex()``, and the same entry at every
///   index from ``firstIndex()`` on; its boundary is its newest snapshot marker, so entries
///   kept behind that marker for slow followers may be gone, and compaction past it may be
///   undone. Entries dropped by ``applySnapshot(_:)`` never come back, unless the log already
///   held the snapshot's own entry (same index and term) when it was applied: a log records only
///   a marker, and a marker after a matching entry is indistinguishable from a local snapshot.
///   raft never installs such a snapshot; it only moves its commit index.
/// - One writer and any number of concurrent readers: reads may run on other tasks while a
///   write is in progress and see either the state before or after it.
/// - Errors are ``StorageError``s; corrupt stored data never traps.
public protocol LogStore: Sendable {
    // MARK: raft's read interface

    /// The index of the first entry the log can return: the boundary's index plus one.
    func firstIndex() throws(StorageError) -> UInt64

    /// The index of the last entry, or the boundary's index when the log holds none.
    func lastIndex() throws(StorageError) -> UInt64

    /// The term of the entry at `index`, for `index` from the boundary to ``lastIndex()``.
    func term(at index: UInt64) throws(StorageError) -> UInt64

    /// The entries in `range`, cut so their total ``Entry/encodedSize`` stays within
    /// `maxBytes`, but never fewer than one.
    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry]

    /// The last HardState saved (``HardState/empty`` for a new log).
    func hardState() throws(StorageError) -> HardState

    /// The newest snapshot position recorded by ``applySnapshot(_:)`` or
    /// ``recordSnapshot(_:)``, or the one the store was opened at; ``SnapshotMarker/zero`` for a
    /// new log.
    func snapshotMarker() throws(StorageError) -> SnapshotMarker

    /// Every snapshot marker the store has durably recorded whose index is covered by the
    /// stored HardState's commit, oldest first (etcd's `ValidSnapshotEntries`).
    ///
    /// Recovery pairs the newest of these that has a snapshot file with the log; a marker beyond
    /// the commit index may belong to a snapshot whose HardState was lost in a crash.
    func snapshotMarkers() throws(StorageError) -> [SnapshotMarker]

    // MARK: Writes

    /// Appends `entries` (replacing any overlapping tail) and stores `hardState` unless it is
    /// empty, as one unit. See the type's requirements for the HardState rules and durability.
    func save(hardState: HardState, entries: [Entry]) throws(StorageError)

    /// Installs a snapshot received from the leader: records its marker durably, moves the
    /// boundary to it and drops every entry.
    func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError)

    /// Records durably that a snapshot through `metadata.index` was taken locally; entries stay.
    func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError)

    /// Drops the entries through `index`; they are no longer needed once a snapshot covers them.
    func compact(through index: UInt64) throws(StorageError)

    /// Makes everything saved so far durable.
    func sync() throws(StorageError)

    /// Starts the log again at an older recorded snapshot marker (one of ``snapshotMarkers()``),
    /// when recovery has to fall back to an older snapshot because a newer one is unreadable.
    ///
    /// Afterwards ``snapshotMarker()`` is `marker` and every entry after it that the store
    /// holds is readable. Stores that keep only one marker throw
    /// ``StorageError/Code/unsupported`` for any other marker.
    func resume(from marker: SnapshotMarker) throws(StorageError)

    /// Syncs and releases the store's resources. Further calls throw
    /// ``StorageError/Code/closed``.
    func close() throws(StorageError)

    /// What opening the store changed on disk (a torn tail cut off, damage discarded when told
    /// to), so ``Storage`` can report it; empty by default. Never lose data without a record
    /// here or an error.
    var recoveryActions: [RecoveryAction] { get }

    // MARK: Async writes

    /// Saves like ``save(hardState:entries:)`` and returns once the entries and the HardState
    /// are durable, whatever raft's `MustSync` says. Concurrent callers may share one sync
    /// (group commit).
    ///
    /// The default runs ``save(hardState:entries:)`` then ``sync()`` on a thread of its own,
    /// never on a thread of the cooperative pool, one call after another. A store that can
    /// write at once and share its syncs between callers implements it (`WALLogStore` does).
    nonisolated(nonsending) func saveDurably(hardState: HardState, entries: [Entry]) async throws(StorageError)

    /// Appends one entry right after the last in `term`, and returns its index once it is
    /// durable; concurrent callers get consecutive indexes in the order their writes reached
    /// the log, and may share one sync.
    ///
    /// The default reads ``lastIndex()`` and saves on a thread of its own, one call after
    /// another (so its callers never race each other; a caller writing through the synchronous
    /// calls at the same time may, and gets the store's refusal of a gap or an overwrite).
    nonisolated(nonsending) func appendDurably(term: UInt64, type: EntryType, data: [UInt8]?) async throws(StorageError) -> UInt64

    /// Makes everything saved so far durable, like ``sync()``, without blocking a thread of the
    /// cooperative pool; concurrent callers may share one sync. The default runs ``sync()`` on a
    /// thread of its own.
    nonisolated(nonsending) func syncDurably() async throws(StorageError)
}

extension LogStore {
    /// All entries from `index` to the end, without a size limit.
    public func entries(from index: UInt64) throws(StorageError) -> [Entry] {
        try entries(in: index..<(lastIndex() + 1), maxBytes: .max)
    }

    /// The entries in `range` without a size limit.
    public func entries(in range: Range<UInt64>) throws(StorageError) -> [Entry] {
        try entries(in: range, maxBytes: .max)
    }

    /// Appends entries without changing the HardState.
    public func append(_ entries: [Entry]) throws(StorageError) {
        try save(hardState: .empty, entries: entries)
    }

    /// Replaces the HardState without appending entries.
    public func setHardState(_ hardState: HardState) throws(StorageError) {
        try save(hardState: hardState, entries: [])
    }
}

extension LogStore {
    public nonisolated(nonsending) func saveDurably(hardState: HardState, entries: [Entry]) async throws(StorageError) {
        try await BlockingThread.shared.run { () throws(StorageError) in
            try save(hardState: hardState, entries: entries)
            try sync()
        }
    }

    public nonisolated(nonsending) func appendDurably(term: UInt64, type: EntryType = .normal, data: [UInt8]?) async throws(StorageError) -> UInt64 {
        try await BlockingThread.shared.run { () throws(StorageError) -> UInt64 in
            let index = try lastIndex() + 1
            try save(hardState: .empty, entries: [Entry(term: term, index: index, type: type, data: data)])
            try sync()
            return index
        }
    }

    public nonisolated(nonsending) func syncDurably() async throws(StorageError) {
        try await BlockingThread.shared.run { () throws(StorageError) in try sync() }
    }
}
