import Synchronization

/// A log store and a snapshot store composed the way etcd composes its WAL and Snapshotter:
/// the storage a raft node talks to.
///
/// `Storage` answers raft's read questions (``initialState()``, ``entries(in:maxBytes:)``,
/// ``term(at:)``, ``firstIndex()``, ``lastIndex()``, ``snapshot()``), persists each batch of raft
/// output in etcd's order (`save(hardState:entries:snapshot:)`), takes local snapshots with
/// compaction (`createSnapshot(at:confState:data:)`), and recovers on open.
///
/// ```swift
/// // compile time: generic arguments, no dynamic dispatch
/// let storage = try Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore())
///
/// // run time: erase the backends chosen by configuration
/// let chosen = try Storage(log: AnyLogStore(log), snapshots: AnySnapshotStore(snapshots))
/// ```
///
/// Recovery (etcd 3.4.8+, Docs/Recovery.md): opening asks the log for the snapshot markers
/// it recorded whose index its committed HardState covers, loads the newest snapshot that matches
/// one of them (unreadable snapshot files are set aside as `.broken` and older ones tried), starts
/// the log at that snapshot, and checks raft's invariant that the HardState's commit lies between
/// the snapshot index and the last index.
///
/// Thread safety: one task writes; reads may come from any task.
public final class Storage<Log: LogStore, Snapshots: SnapshotStore>: Sendable {
    /// The log store.
    public let log: Log
    /// The snapshot store.
    public let snapshots: Snapshots
    /// The options the storage was opened with.
    public let options: Options

    /// The metadata of the newest snapshot saved or recovered: raft's `InitialState` membership.
    private let current: Mutex<SnapshotMetadata>

    /// Async saves handed to ``BlockingThread/shared`` and not finished yet (see
    /// `save(hardState:entries:snapshot:) async`).
    private let savesOffThread = Mutex(0)

    /// What ``Storage/init(log:snapshots:options:)`` found while recovering.
    public let recovery: Recovery

    /// Tuning for a ``Storage``.
    public struct Options: Sendable, Hashable {
        /// Entries kept behind a local snapshot so slow followers can catch up from the log
        /// rather than a snapshot (etcd's `SnapshotCatchUpEntries`, 5000).
        public var retainedEntries: UInt64
        /// Snapshots kept in the snapshot store; older ones are removed after a new one is
        /// durable (etcd's `--max-snapshots`, 5). At least 1. The log keeps every entry after
        /// the oldest of them, whatever ``retainedEntries`` says: it is what a fallback to that
        /// snapshot needs.
        public var retainedSnapshots: Int

        /// Options with etcd's defaults: 5,000 entries and 5 snapshots kept.
        public init(retainedEntries: UInt64 = 5000, retainedSnapshots: Int = 5) {
            self.retainedEntries = retainedEntries
            self.retainedSnapshots = max(1, retainedSnapshots)
        }
    }

    /// The outcome of recovery.
    public struct Recovery: Sendable, Hashable {
        /// The snapshot markers the log offered (covered by its commit index), oldest first.
        public var markers: [SnapshotMarker]
        /// The snapshot the log was started at; ``SnapshotMarker/zero`` when there was none.
        public var snapshot: SnapshotMarker
        /// Whether recovery had to move the log back to an older marker than the one it opened
        /// at (because the newest snapshot file was missing or unreadable).
        public var resumedFromOlderMarker: Bool
        /// Every change recovery made: what the log store repaired when it opened (a torn tail
        /// cut, damage discarded in a recovery mode that allows it) and each snapshot that
        /// failed to verify and was set aside. Empty after a clean shutdown.
        public var actions: [RecoveryAction]
    }

    /// The state raft starts from: the package's one ``RaftStorage/InitialState`` type, which
    /// log stores that answer it themselves return too.
    public typealias InitialState = RaftStorage.InitialState

    /// Opens storage over `log` and `snapshots`, recovering the newest consistent state.
    ///
    /// - Throws: ``StorageError/Code/notFound`` when the log starts after a snapshot that no
    ///   longer exists in the snapshot store; ``StorageError/Code/invariantViolation`` when the
    ///   HardState's commit is outside the recovered log (raft would refuse to start);
    ///   whatever the backends throw.
    public init(log: Log, snapshots: Snapshots, options: Options = Options()) throws(StorageError) {
        self.log = log
        self.snapshots = snapshots
        self.options = options

        let markers = try log.snapshotMarkers()
        let snapshotsBefore = try snapshots.list()
        var snapshot = try snapshots.loadNewest(matching: markers)
        let opened = try log.snapshotMarker()
        // A snapshot from the leader is saved, then its marker recorded, then the HardState that
        // commits it: a crash in between leaves a log that starts at a marker its commit does not
        // cover. A log that keeps such an installed snapshot across restarts (WALLogStore does)
        // is recovered from it when its file is there; its index is committed below, as raft
        // does when it restores a snapshot.
        var installedUncommitted = false
        if opened.index > (snapshot?.metadata.index ?? 0), !markers.contains(where: { $0.matches(opened) }),
            let installed = try snapshots.loadNewest(matching: [opened])
        {
            snapshot = installed
            installedUncommitted = true
        }
        let target = snapshot?.metadata.marker ?? .zero
        var resumed = false
        if !opened.matches(target) {
            guard snapshot != nil || markers.contains(where: { $0.matches(.zero) }) else {
                throw StorageError(
                    .notFound,
                    "the log starts at snapshot \(opened) but the snapshot store holds none of its snapshots \(markers)")
            }
            try log.resume(from: target)
            resumed = true
            let resumedAt = try log.snapshotMarker()
            guard resumedAt.matches(target) else {
                throw StorageError(
                    .notFound,
                    "the log starts at snapshot \(resumedAt), which the snapshot store does not hold, and cannot fall back to \(target)")
            }
        }
        if installedUncommitted, try log.hardState().commit < target.index {
            let state = try log.hardState()
            let committed = state.term >= target.term
                ? HardState(term: state.term, vote: state.vote, commit: target.index)
                : HardState(term: target.term, vote: 0, commit: target.index)
            try log.save(hardState: committed, entries: [])
            try log.sync()
        }
        let hardState = try log.hardState()
        let lastIndex = try log.lastIndex()
        if !hardState.isEmpty && (hardState.commit < target.index || hardState.commit > lastIndex) {
            throw StorageError(
                .invariantViolation,
                "state.commit \(hardState.commit) is out of range [\(target.index), \(lastIndex)]: was the log truncated or lost?")
        }
        var metadata = snapshot?.metadata ?? SnapshotMetadata()
        if snapshot == nil, let recorded = opened.confState, opened.matches(target) {
            metadata.confState = recorded
        }
        self.current = Mutex(metadata)
        let remaining = Set(try snapshots.list())
        let setAside = snapshotsBefore.filter { !remaining.contains($0) }.map { marker in
            RecoveryAction(.snapshotSetAside, snapshot: marker, detail: "the snapshot file failed to verify and was set aside; an older snapshot was used")
        }
        self.recovery = Recovery(
            markers: markers, snapshot: target, resumedFromOlderMarker: resumed, actions: log.recoveryActions + setAside)
    }

    // MARK: - raft's read interface

    /// The HardState and the membership of the newest snapshot (raft's `InitialState`).
    public func initialState() throws(StorageError) -> InitialState {
        InitialState(hardState: try log.hardState(), confState: current.withLock { $0.confState })
    }

    /// See ``LogStore/firstIndex()``.
    public func firstIndex() throws(StorageError) -> UInt64 { try log.firstIndex() }

    /// See ``LogStore/lastIndex()``.
    public func lastIndex() throws(StorageError) -> UInt64 { try log.lastIndex() }

    /// See ``LogStore/term(at:)``.
    public func term(at index: UInt64) throws(StorageError) -> UInt64 { try log.term(at: index) }

    /// See ``LogStore/entries(in:maxBytes:)``.
    public func entries(in range: Range<UInt64>, maxBytes: UInt64 = .max) throws(StorageError) -> [Entry] {
        try log.entries(in: range, maxBytes: maxBytes)
    }

    /// The newest snapshot, with its data, for sending to a follower; an empty snapshot when there
    /// is none yet.
    ///
    /// - Throws: ``StorageError/Code/snapshotTemporarilyUnavailable`` when the snapshot store no
    ///   longer holds it (raft retries later).
    public func snapshot() throws(StorageError) -> Snapshot {
        let metadata = current.withLock { $0 }
        guard metadata.index > 0 else { return Snapshot(metadata: metadata) }
        guard let snapshot = try snapshots.loadNewest(matching: [metadata.marker]) else {
            throw StorageError(.snapshotTemporarilyUnavailable, "snapshot \(metadata.marker) is not in the snapshot store")
        }
        return snapshot
    }

    /// The metadata of the newest snapshot, without loading its data.
    public var snapshotMetadata: SnapshotMetadata { current.withLock { $0 } }

    // MARK: - Writes

    /// Persists one batch of raft output (a `Ready`) in etcd's order (Docs/Durability.md).
    ///
    /// 1. A non-empty `snapshot` is saved to the snapshot store first (durable), then its marker
    ///    is recorded in the log, which drops the log's entries (``LogStore/applySnapshot(_:)``).
    ///    A crash between the two leaves only an orphan snapshot file, which recovery ignores.
    /// 2. `entries` are appended and `hardState` stored (unless empty). When this returns they
    ///    are durable if raft's `MustSync` says so: new entries, or a changed term or vote.
    /// 3. With a snapshot, the log is then synced unconditionally, so the HardState committing
    ///    the snapshot is durable before any older log segment can be released (etcd #10219),
    ///    and snapshots beyond ``Options/retainedSnapshots`` are removed.
    ///
    /// Before anything is written, a non-empty `hardState` is checked against the stored one
    /// with ``HardState/validate(replacing:lastIndexAfterSave:)``: its commit must be at most the
    /// last index after the save (the last entry's index when `entries` go past the boundary,
    /// otherwise the snapshot's index, or the current last index without a snapshot), its term
    /// must not be lower than the stored term, and in the stored term its vote must be the
    /// stored vote unless that is 0. A refused batch throws
    /// ``StorageError/Code/invalidArgument`` and writes nothing, the snapshot included.
    ///
    /// If it throws for any other reason, what reached the disk is unknown: stop using the
    /// storage, and reopen it to recover.
    public func save(hardState: HardState, entries: [Entry], snapshot: Snapshot? = nil) throws(StorageError) {
        let installing = snapshot.flatMap { $0.isEmpty ? nil : $0 }
        if let installing, let first = entries.first, let last = entries.last {
            // Checked before the snapshot is written, as the log's save would check it after.
            let consecutive = zip(entries, entries.dropFirst()).allSatisfy { $1.index == $0.index &+ 1 }
            guard consecutive, last.index <= installing.metadata.index || first.index <= installing.metadata.index &+ 1 else {
                throw StorageError(
                    .invalidArgument,
                    "entries \(first.index)...\(last.index) are not consecutive after snapshot \(installing.metadata.index); nothing was written")
            }
        }
        if !hardState.isEmpty, installing != nil {
            // The snapshot store and the log are written before the log's own save checks the
            // HardState, so the check comes first here. Without a snapshot the log's save makes
            // it before writing anything (a `LogStore` requirement the suites check).
            let last = try lastIndex(afterSaving: entries, installing: installing?.metadata)
            let stored = try log.hardState()
            try hardState.validate(replacing: stored, lastIndexAfterSave: last)
        }
        let previous = current.withLock { $0 }
        if let installing {
            try snapshots.save(installing)
            try log.applySnapshot(installing.metadata)
            current.withLock { $0 = installing.metadata }
        }
        try log.save(hardState: hardState, entries: entries)
        if let installing {
            try log.sync()
            // Leftovers are kept for now, not counted.
            let leftovers = Self.leftovers(in: try snapshots.list(), after: previous, saved: installing.metadata.marker)
            try snapshots.retainNewest(options.retainedSnapshots + leftovers.count)
        }
    }

    /// The snapshots in `stored` newer than `previous` (the snapshot before this save), other
    /// than `saved`: what a save left when a crash came before its marker reached the log. No
    /// recovery can use them, so they must not count among the snapshots kept, or the real
    /// ones (the one just saved included) would be removed in their place.
    private static func leftovers(in stored: [SnapshotMarker], after previous: SnapshotMetadata, saved: SnapshotMarker) -> [SnapshotMarker] {
        stored.filter { $0.index > previous.index && $0 != saved }
    }

    /// The log's last index once `entries` are saved after `installing` (when given) is
    /// applied: the snapshot becomes the boundary, and entries at or below the boundary are
    /// dropped.
    private func lastIndex(afterSaving entries: [Entry], installing: SnapshotMetadata?) throws(StorageError) -> UInt64 {
        let boundary: UInt64
        if let installing {
            boundary = installing.index
        } else {
            boundary = try log.firstIndex() - 1
        }
        if let last = entries.last?.index, last > boundary { return last }
        if installing != nil { return boundary }
        return try log.lastIndex()
    }

    /// Takes a local snapshot of the state machine at `index` (etcd's `EtcdServer.snapshot`,
    /// Docs/Durability.md) and compacts the log behind it.
    ///
    /// The snapshot is saved durably, its marker recorded in the log, the log synced, and the
    /// entries up to `index - retainedEntries` compacted, but never past the oldest snapshot
    /// kept, so recovery can fall back to any kept snapshot if the newer ones become
    /// unreadable; snapshots beyond ``Options/retainedSnapshots`` are removed.
    ///
    /// - Parameters:
    ///   - index: the applied index the state `data` reflects; it must be committed.
    ///   - confState: the membership at `index`; `nil` keeps the previous snapshot's.
    ///   - data: the serialized state machine.
    /// - Returns: the snapshot saved.
    /// - Throws: ``StorageError/Code/snapshotOutOfDate`` when a snapshot at or after `index`
    ///   exists; ``StorageError/Code/invalidArgument`` when `index` is not committed.
    @discardableResult
    public func createSnapshot(at index: UInt64, confState: ConfState? = nil, data: [UInt8]?) throws(StorageError) -> Snapshot {
        let previous = current.withLock { $0 }
        guard index > previous.index else {
            throw .snapshotOutOfDate("snapshot \(index) is not newer than the existing snapshot \(previous.index)")
        }
        let commit = try log.hardState().commit
        guard index <= commit else {
            throw StorageError(.invalidArgument, "snapshot index \(index) is beyond the committed index \(commit)")
        }
        let metadata = SnapshotMetadata(confState: confState ?? previous.confState, index: index, term: try log.term(at: index))
        let snapshot = Snapshot(data: data, metadata: metadata)
        try snapshots.save(snapshot)
        try log.recordSnapshot(metadata)
        current.withLock { $0 = metadata }
        try log.sync()
        // Never past the oldest snapshot kept: should the newer ones become unreadable,
        // recovery falls back to it and needs every entry after it.
        let stored = try snapshots.list()
        let leftovers = Self.leftovers(in: stored, after: previous, saved: metadata.marker)
        let oldestKept = stored.filter { !leftovers.contains($0) }.map(\.index).sorted().suffix(options.retainedSnapshots).first ?? index
        if index > options.retainedEntries {
            let compactIndex = min(index - options.retainedEntries, oldestKept)
            if compactIndex >= (try log.firstIndex()) {
                try log.compact(through: compactIndex)
            }
        }
        // Leftovers are kept for now, not counted.
        try snapshots.retainNewest(options.retainedSnapshots + leftovers.count)
        return snapshot
    }

    /// Drops log entries through `index`; see ``LogStore/compact(through:)``.
    public func compact(through index: UInt64) throws(StorageError) {
        try log.compact(through: index)
    }

    /// Makes everything saved so far durable.
    public func sync() throws(StorageError) {
        try log.sync()
    }

    /// Syncs and closes the log.
    public func close() throws(StorageError) {
        try log.close()
    }
}

// MARK: - Async

/// The async API: the same operations, returning when what they wrote is durable, without
/// blocking a thread of the cooperative pool. Use it from async code (an actor driving raft,
/// request handlers); use the synchronous calls from a thread of your own. Concurrent callers
/// share syncs where the log can (group commit: `WALLogStore` makes one fdatasync for every
/// write that reached it while the previous one ran; other stores join through
/// ``LogStore/saveDurably(hardState:entries:)``, whose default runs their synchronous calls on a
/// thread of its own).
///
/// The async calls run on the caller's executor until they wait for the disk
/// (`nonisolated(nonsending)`): saves an actor makes one after another reach the log in that
/// order, even though their fdatasyncs are shared and awaited concurrently, which is what raft's
/// asynchronous storage writes need.
extension Storage {
    /// Persists one batch of raft output like the synchronous `save(hardState:entries:snapshot:)`, and returns
    /// once the entries and the HardState are durable (whatever raft's `MustSync` says).
    ///
    /// Without a snapshot the batch goes to ``LogStore/saveDurably(hardState:entries:)``, so
    /// concurrent callers share one fdatasync; with one, the snapshot file and the log's marker
    /// are written on a thread of their own, in the synchronous call's order. While such a
    /// save is unfinished, the saves called after it go to that thread too, behind it: a save
    /// written at once could otherwise reach the log before the snapshot, which would then
    /// drop its entries.
    public nonisolated(nonsending) func save(hardState: HardState, entries: [Entry], snapshot: Snapshot? = nil) async throws(StorageError) {
        guard takesTurnOffThread(installing: snapshot.map { !$0.isEmpty } ?? false) else {
            try await log.saveDurably(hardState: hardState, entries: entries)
            return
        }
        // The thread runs its jobs in the order they were handed over.
        defer { savesOffThread.withLock { $0 -= 1 } }
        try await BlockingThread.shared.run { () throws(StorageError) in
            try self.save(hardState: hardState, entries: entries, snapshot: snapshot)
            try self.log.sync()
        }
    }

    /// Whether a save goes to ``BlockingThread/shared``: one `installing` a snapshot, and any
    /// other while such a save is unfinished; counted there when it does. Decided before the
    /// caller's first suspension, so in call order.
    private func takesTurnOffThread(installing: Bool) -> Bool {
        savesOffThread.withLock { count -> Bool in
            guard installing || count > 0 else { return false }
            count += 1
            return true
        }
    }

    /// Appends one entry after the last in `term` and returns its index once it is durable;
    /// concurrent callers get consecutive indexes and share fdatasyncs
    /// (``LogStore/appendDurably(term:type:data:)``). For a single node's proposals; a raft
    /// node with followers saves the entries raft hands it with
    /// `save(hardState:entries:snapshot:)`.
    public nonisolated(nonsending) func append(term: UInt64, type: EntryType = .normal, data: [UInt8]?) async throws(StorageError) -> UInt64 {
        guard takesTurnOffThread(installing: false) else {
            return try await log.appendDurably(term: term, type: type, data: data)
        }
        // Behind an unfinished save with a snapshot, as `save` does.
        defer { savesOffThread.withLock { $0 -= 1 } }
        return try await BlockingThread.shared.run { () throws(StorageError) -> UInt64 in
            let last = try self.log.lastIndex()
            guard last < .max else { throw StorageError(.invalidArgument, "the log's last index \(last) leaves no index to append at") }
            try self.log.save(hardState: .empty, entries: [Entry(term: term, index: last + 1, type: type, data: data)])
            try self.log.sync()
            return last + 1
        }
    }

    /// Takes a local snapshot like the synchronous `createSnapshot(at:confState:data:)`, on a thread of its
    /// own; returns once the snapshot file and the log's marker are durable.
    @discardableResult
    public nonisolated(nonsending) func createSnapshot(at index: UInt64, confState: ConfState? = nil, data: [UInt8]?) async throws(StorageError) -> Snapshot {
        try await BlockingThread.shared.run { () throws(StorageError) -> Snapshot in
            try self.createSnapshot(at: index, confState: confState, data: data)
        }
    }

    /// Makes everything saved so far durable, sharing the sync with concurrent callers
    /// (``LogStore/syncDurably()``).
    public nonisolated(nonsending) func sync() async throws(StorageError) {
        try await log.syncDurably()
    }
}
