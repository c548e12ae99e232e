public import RaftStorage
import Synchronization

/// A log kept in memory with exactly the semantics of etcd raft's `MemoryStorage`.
///
/// The log starts after a boundary, the index and term of the last compacted or snapshotted
/// entry, and holds whole entries after it. Where `MemoryStorage` panics (an append leaving a
/// gap, a read, snapshot or compaction past the last index) this store throws a
/// ``RaftStorage/StorageError`` instead and changes nothing. The rules are the package's one
/// implementation of them, which `WALLogStore` follows too.
///
/// Nothing is durable: ``sync()`` does nothing. After ``close()`` every call but `close()`
/// throws ``RaftStorage/StorageError/Code/closed``, as for any log store; to simulate a restart,
/// close the store and continue with ``reopened()``, a new store holding what this one held.
///
/// Thread safety: every call takes one lock, so any number of tasks may read while one writes.
public final class MemoryLogStore: LogStore {
    /// The log's shape and rules; its slots are the entries themselves.
    private typealias Log = LogWindow<EntrySlots>

    private struct State {
        var hardState = HardState()
        var snapshot = Snapshot()
        /// The entries after the snapshot's (or the last compaction's) boundary.
        var log = Log()
        /// Set by `close()`; every other call then throws `closed`.
        var closed = false
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
        try withOpenState { $0.log.firstIndex }
    }

    public func lastIndex() throws(StorageError) -> UInt64 {
        try withOpenState { $0.log.lastIndex }
    }

    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        try withOpenState { (state) throws(StorageError) in try state.log.term(at: index) }
    }

    public func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        try withOpenState { (state) throws(StorageError) in
            try state.log.entries(in: range, maxBytes: maxBytes) { (slots: EntrySlots, range: Range<UInt64>, page: inout EntryPage) in
                _ = page.add(contentsOf: slots[range])
            }
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
    public func initialState() throws(StorageError) -> InitialState {
        try withOpenState { InitialState(hardState: $0.hardState, confState: $0.snapshot.metadata.confState) }
    }

    // MARK: - Writes

    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in
            // Every check comes before any change, so a refused save leaves the log as it was.
            let kept = try state.log.admit(entries[...], hardState: hardState, replacing: state.hardState)
            state.log.append(kept)
            if !hardState.isEmpty { state.hardState = hardState }
        }
    }

    /// Installs a whole snapshot, data included (`MemoryStorage.ApplySnapshot`).
    public func applySnapshot(_ snapshot: Snapshot) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in
            try Log.requireNewer(snapshot.metadata.index, than: state.snapshot.metadata.index)
            state.snapshot = snapshot
            state.log.reset(boundaryIndex: snapshot.metadata.index, term: snapshot.metadata.term)
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
            try Log.requireNewer(index, than: state.snapshot.metadata.index)
            let term = try state.log.snapshotTerm(at: index)
            state.snapshot.metadata.index = index
            state.snapshot.metadata.term = term
            if let confState { state.snapshot.metadata.confState = confState }
            state.snapshot.data = data
            return state.snapshot
        }
    }

    public func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in
            try state.log.checkRecordable(metadata.index, term: metadata.term, newerThan: state.snapshot.metadata.index)
            state.snapshot = Snapshot(metadata: metadata)
        }
    }

    public func compact(through index: UInt64) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in try state.log.compact(through: index) }
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
