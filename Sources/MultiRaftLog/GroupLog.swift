public import RaftStorage
import Synchronization

/// One raft group's log inside a ``LogEngine``: a ``RaftStorage/LogStore``, so it runs under
/// ``RaftStorage/Storage`` with any snapshot store.
///
/// ```swift
/// let storage = try Storage(log: engine.log(for: 7), snapshots: snapshots)
/// ```
///
/// Each write is a batch of this group alone (``LogEngine/write(_:sync:)``): ``save(hardState:entries:)``
/// syncs when raft's `MustSync` asks; ``applySnapshot(_:)``, ``recordSnapshot(_:)``,
/// ``compact(through:)`` and ``resume(from:)`` always. The async writes share
/// fdatasyncs with every other writer of the engine.
///
/// Closing the view syncs the engine and makes this view refuse every call; the engine and
/// other views stay open. Closing the engine closes every view.
public final class GroupLog: LogStore {
    /// The engine the group lives in.
    public let engine: LogEngine
    /// The group's ID.
    public let groupID: UInt64
    private let closed = Atomic(false)

    init(engine: LogEngine, groupID: UInt64) {
        self.engine = engine
        self.groupID = groupID
    }

    /// Runs `body` on the group's state (an empty one for a group never written).
    private func read<Result>(_ body: (GroupState, inout EngineState) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try checkOpen()
        return try engine.view { (state) throws(StorageError) -> Result in
            let group = state.groups[groupID] ?? GroupState(historyStart: 0)
            return try body(group, &state)
        }
    }

    private func checkOpen() throws(StorageError) {
        if closed.load(ordering: .acquiring) {
            throw StorageError(.closed, "the log of group \(groupID) is closed", path: engine.directory)
        }
    }

    /// Writes a batch of this group alone, built by `build` from the group's state under the
    /// writer lock.
    private func write(
        _ policy: LogEngine.SyncPolicy, _ build: (GroupState, inout WriteBatch) throws(StorageError) -> Void
    ) throws(StorageError) -> UInt64 {
        try checkOpen()
        let group = groupID
        return try engine.write(policy) { (groups) throws(StorageError) in
            var batch = WriteBatch()
            try build(groups[group] ?? GroupState(historyStart: 0), &batch)
            return batch
        }
    }

    // MARK: - Reads

    /// The first index the group's log can return: its boundary's index plus one.
    public func firstIndex() throws(StorageError) -> UInt64 { try read { group, _ in group.window.firstIndex } }

    /// The group's last index, or its boundary's when it holds no entry.
    public func lastIndex() throws(StorageError) -> UInt64 { try read { group, _ in group.window.lastIndex } }

    /// The term at `index`, from the boundary to the last index.
    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        try read { (group, _) throws(StorageError) in try group.window.term(at: index) }
    }

    /// The entries in `range`, read back from the log files and checked, cut to `maxBytes`
    /// (never fewer than one).
    public func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        let id = groupID
        return try read { (group, state) throws(StorageError) in
            try group.window.entries(in: range, maxBytes: maxBytes) { (slots, range, page) throws(StorageError) in
                try state.readEntries(of: id, slots, range, into: &page)
            }
        }
    }

    /// The group's last HardState.
    public func hardState() throws(StorageError) -> HardState { try read { group, _ in group.hardState } }

    /// The group's newest snapshot marker (or the one it resumed from).
    public func snapshotMarker() throws(StorageError) -> SnapshotMarker { try read { group, _ in group.marker } }

    /// The markers recorded at or after the log's boundary that the HardState's commit covers,
    /// oldest first.
    public func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] {
        try read { group, _ in group.markers.filter { $0.index <= group.hardState.commit } }
    }

    /// What opening the engine changed on disk (shared by every group's log).
    public var recoveryActions: [RecoveryAction] { engine.recoveryActions }

    // MARK: - Writes

    /// Appends `entries` and stores `hardState` as one single-group batch, synced when raft's
    /// `MustSync` asks.
    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        _ = try write(.mustSync) { [groupID] _, batch in batch.save(hardState: hardState, entries: entries, for: groupID) }
    }

    /// Installs a snapshot received from the leader (drops every entry); durable on return.
    public func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        _ = try write(.always) { [groupID] _, batch in batch.applySnapshot(metadata, to: groupID) }
    }

    /// Records a snapshot taken locally (entries stay); durable on return.
    public func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        _ = try write(.always) { [groupID] _, batch in batch.recordSnapshot(metadata, for: groupID) }
    }

    /// Drops the entries through `index`; durable on return. A later purge frees the space.
    public func compact(through index: UInt64) throws(StorageError) {
        // Durable on return: a restart must not find the log longer at its start than the
        // newest committed snapshot marker allows, and the compaction may be behind one.
        _ = try write(.always) { [groupID] _, batch in batch.compact(groupID, through: index) }
    }

    /// Makes every write of the engine so far durable.
    public func sync() throws(StorageError) {
        try checkOpen()
        try engine.sync()
    }

    /// Starts the log at `marker`, one it recorded, dropping the entries up to it (written,
    /// so the engine replays the same log after a restart until the next marker).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/notFound`` for a marker the log never
    ///   recorded; ``RaftStorage/StorageError/Code/unsupported`` when the log no longer holds
    ///   the marker's entry (compacted past it).
    public func resume(from marker: SnapshotMarker) throws(StorageError) {
        _ = try write(.always) { [groupID] group, batch in
            // Resuming from where the log is changes nothing: nothing to write.
            if marker.matches(group.marker) && group.window.boundaryIndex == marker.index { return }
            let recorded = group.markers.first { $0.matches(marker) } ?? marker
            batch.update(groupID) { $0.resume = recorded }
        }
    }

    /// Syncs the engine and closes this view: later calls on it throw
    /// ``RaftStorage/StorageError/Code/closed``. The engine stays open (close it with
    /// ``LogEngine/close()``); closing again does nothing.
    public func close() throws(StorageError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if !engine.isClosed { try engine.sync() }
    }

    // MARK: - Async writes

    /// Saves like ``save(hardState:entries:)`` and returns once durable, sharing the fdatasync
    /// with every concurrent writer of the engine.
    public nonisolated(nonsending) func saveDurably(hardState: HardState, entries: [Entry]) async throws(StorageError) {
        let sequence = try write(.never) { [groupID] _, batch in batch.save(hardState: hardState, entries: entries, for: groupID) }
        try await engine.waitUntilDurable(sequence)
    }

    /// Appends one entry after the last in `term` and returns its index once durable;
    /// concurrent callers get consecutive indexes and share fdatasyncs.
    public nonisolated(nonsending) func appendDurably(term: UInt64, type: EntryType = .normal, data: [UInt8]?) async throws(StorageError) -> UInt64 {
        var index: UInt64 = 0
        // Under the writer lock, so no other write takes the index in between.
        let sequence = try write(.never) { [groupID] group, batch in
            index = group.window.lastIndex + 1
            batch.save(hardState: .empty, entry: Entry(term: term, index: index, type: type, data: data), for: groupID)
        }
        try await engine.waitUntilDurable(sequence)
        return index
    }

    /// Makes everything written so far durable, sharing the fdatasync with concurrent callers.
    public nonisolated(nonsending) func syncDurably() async throws(StorageError) {
        try checkOpen()
        try await engine.syncDurably()
    }
}
