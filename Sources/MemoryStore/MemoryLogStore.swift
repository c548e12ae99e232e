public import RaftStorage
import Synchronization

/// A log kept in memory with exactly the semantics of etcd raft's `MemoryStorage`.
///
/// `entries[0]` is a dummy whose index and term are those of the last compacted or snapshotted
/// entry; real entries follow it. Where `MemoryStorage` panics (an append leaving a gap, a read,
/// snapshot or compaction past the last index) this store throws a ``RaftStorage/StorageError`` instead
/// and changes nothing.
///
/// Nothing is durable: ``sync()`` does nothing. After ``close()`` every call but `close()`
/// throws ``RaftStorage/StorageError/Code/closed``, as for any log store; to simulate a restart,
/// close the store and continue with ``reopened()``, a new store holding what this one held.
///
/// Thread safety: every call takes one lock, so any number of tasks may read while one writes.
public final class MemoryLogStore: LogStore {
    private struct State {
        var hardState = HardState()
        var snapshot = Snapshot()
        /// `entries[0]` is the dummy at the boundary.
        var entries = [Entry(term: 0, index: 0)]
        /// Set by `close()`; every other call then throws `closed`.
        var closed = false

        var offset: UInt64 { entries[0].index }
        var lastIndex: UInt64 { offset + UInt64(entries.count) - 1 }
    }

    private let state: Mutex<State>

    /// An empty log: first index 1, last index 0, an empty HardState.
    public init() {
        state = Mutex(State())
    }

    private init(state: State) {
        self.state = Mutex(state)
    }

    /// A new, open store holding this one's entries, HardState and snapshot: what a durable
    /// store would hold after a restart, so tests can "restart" a ``RaftStorage/Storage`` over
    /// memory stores by closing it and opening a new one over the copy.
    ///
    /// Callable whether or not this store is closed. The state is copied, not shared: later
    /// writes to either store do not show in the other.
    public func reopened() -> MemoryLogStore {
        var copy = state.withLock { $0 }
        copy.closed = false
        return MemoryLogStore(state: copy)
    }

    /// Runs `body` on the state under the lock, or throws `closed` once the store is closed.
    private func withOpenState<Result: Sendable>(
        _ body: (inout State) throws(StorageError) -> Result
    ) throws(StorageError) -> Result {
        try state.withLock { (state) throws(StorageError) -> Result in
            guard !state.closed else { throw StorageError(.closed, "the memory log store is closed") }
            return try body(&state)
        }
    }

    // MARK: - Reads

    public func firstIndex() throws(StorageError) -> UInt64 {
        try withOpenState { $0.offset + 1 }
    }

    public func lastIndex() throws(StorageError) -> UInt64 {
        try withOpenState { $0.lastIndex }
    }

    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        try withOpenState { (state) throws(StorageError) in
            let offset = state.offset
            guard index >= offset else { throw .compacted() }
            guard index - offset < UInt64(state.entries.count) else { throw .unavailable() }
            return state.entries[Int(index - offset)].term
        }
    }

    public func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        try withOpenState { (state) throws(StorageError) in
            let offset = state.offset
            guard range.lowerBound > offset else { throw .compacted() }
            guard range.upperBound <= state.lastIndex + 1 else {
                throw .unavailable("entries' hi(\(range.upperBound)) is out of bound lastindex(\(state.lastIndex))")
            }
            guard state.entries.count > 1 else { throw .unavailable() }
            let slice = state.entries[Int(range.lowerBound - offset)..<Int(range.upperBound - offset)]
            return Array(slice.prefix(limitedCount(slice, maxBytes: maxBytes)))
        }
    }

    public func hardState() throws(StorageError) -> HardState {
        try withOpenState { $0.hardState }
    }

    public func snapshotMarker() throws(StorageError) -> SnapshotMarker {
        try withOpenState { $0.snapshot.metadata.marker }
    }

    /// The stored snapshot's marker when the HardState's commit covers it; nothing can be lost
    /// in memory, but the rule is the same as for durable logs.
    public func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] {
        try withOpenState { state in
            let marker = state.snapshot.metadata.marker
            return marker.index <= state.hardState.commit ? [marker] : []
        }
    }

    /// The stored snapshot (`MemoryStorage.Snapshot`).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/closed`` once the store is closed.
    public func snapshot() throws(StorageError) -> Snapshot {
        try withOpenState { $0.snapshot }
    }

    /// The HardState and the stored snapshot's membership (`MemoryStorage.InitialState`).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/closed`` once the store is closed.
    public func initialState() throws(StorageError) -> (hardState: HardState, confState: ConfState) {
        try withOpenState { ($0.hardState, $0.snapshot.metadata.confState) }
    }

    // MARK: - Writes

    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in
            let kept = try Self.acceptedPart(of: entries, boundary: state.offset, lastIndex: state.lastIndex)
            // Both checks come before any change, so a refused save leaves the log as it was.
            let lastIndexAfterSave = kept.last?.index ?? state.lastIndex
            try hardState.validate(replacing: state.hardState, lastIndexAfterSave: lastIndexAfterSave)
            if let first = kept.first?.index {
                // `MemoryStorage.Append`: the batch replaces everything from its first index on.
                state.entries.removeSubrange(Int(first - state.offset)...)
                state.entries.append(contentsOf: kept)
            }
            if !hardState.isEmpty { state.hardState = hardState }
        }
    }

    /// The part of a batch `MemoryStorage.Append` keeps: entries at or below the boundary are
    /// dropped; a batch that would leave a gap after `lastIndex` is refused.
    private static func acceptedPart(of newEntries: [Entry], boundary: UInt64, lastIndex: UInt64) throws(StorageError) -> ArraySlice<Entry> {
        guard let (firstNew, last) = try newEntries.contiguousIndexRange(), last > boundary else { return [] }
        let keptFirst = max(firstNew, boundary + 1)
        guard keptFirst <= lastIndex + 1 else {
            throw StorageError(.invalidArgument, "missing log entry [last: \(lastIndex), append at: \(keptFirst)]")
        }
        return newEntries[Int(keptFirst - firstNew)...]
    }

    /// Installs a whole snapshot, data included (`MemoryStorage.ApplySnapshot`).
    public func applySnapshot(_ snapshot: Snapshot) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in
            guard state.snapshot.metadata.index < snapshot.metadata.index else { throw .snapshotOutOfDate() }
            state.snapshot = snapshot
            state.entries = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index)]
        }
    }

    public func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try applySnapshot(Snapshot(metadata: metadata))
    }

    /// Records a snapshot of the state at `index` and returns it; entries stay
    /// (`MemoryStorage.CreateSnapshot`).
    ///
    /// - Parameters:
    ///   - index: the last index the snapshot covers.
    ///   - confState: the membership at `index`; `nil` keeps the stored snapshot's.
    ///   - data: the serialized state machine.
    @discardableResult
    public func createSnapshot(at index: UInt64, confState: ConfState?, data: [UInt8]?) throws(StorageError) -> Snapshot {
        try withOpenState { (state) throws(StorageError) in
            guard index > state.snapshot.metadata.index else { throw .snapshotOutOfDate() }
            guard index <= state.lastIndex else {
                throw .unavailable("snapshot \(index) is out of bound lastindex(\(state.lastIndex))")
            }
            guard index >= state.offset else { throw .compacted() }
            state.snapshot.metadata.index = index
            state.snapshot.metadata.term = state.entries[Int(index - state.offset)].term
            if let confState { state.snapshot.metadata.confState = confState }
            state.snapshot.data = data
            return state.snapshot
        }
    }

    public func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        let term: UInt64
        do {
            term = try self.term(at: metadata.index)
        } catch where error.code == .unavailable {
            throw .unavailable("snapshot \(metadata.index) is out of bound lastindex(\(try lastIndex()))")
        }
        guard term == metadata.term else {
            throw StorageError(.invalidArgument, "snapshot term \(metadata.term) differs from the log's term \(term) at index \(metadata.index)")
        }
        try createSnapshot(at: metadata.index, confState: metadata.confState, data: nil)
    }

    public func compact(through index: UInt64) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in
            guard index > state.offset else { throw .compacted() }
            guard index <= state.lastIndex else {
                throw .unavailable("compact \(index) is out of bound lastindex(\(state.lastIndex))")
            }
            let position = Int(index - state.offset)
            var kept = [Entry(term: state.entries[position].term, index: index)]
            kept.append(contentsOf: state.entries[(position + 1)...])
            state.entries = kept
        }
    }

    /// Nothing to make durable; throws ``RaftStorage/StorageError/Code/closed`` once the store
    /// is closed, as every call but ``close()`` does.
    public func sync() throws(StorageError) {
        try withOpenState { _ in }
    }

    public func resume(from marker: SnapshotMarker) throws(StorageError) {
        let current = try snapshotMarker()
        guard current.matches(marker) else {
            throw StorageError(.unsupported, "a memory log keeps only its newest snapshot \(current), not \(marker)")
        }
    }

    /// Closes the store: every later call but `close()` throws
    /// ``RaftStorage/StorageError/Code/closed``; closing again does nothing. What the store held
    /// stays readable through ``reopened()``.
    public func close() throws(StorageError) {
        state.withLock { $0.closed = true }
    }
}
