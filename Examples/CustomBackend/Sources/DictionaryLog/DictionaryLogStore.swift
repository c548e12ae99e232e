public import RaftStorage
import Synchronization

/// What a ``DictionaryLogStore`` has made "durable": a stand-in for a disk, so the store can be
/// reopened from it after a close, or as a crash would leave it. Only ``DictionaryLogStore/sync()``
/// and ``DictionaryLogStore/close()`` write to it.
public final class DictionaryDisk: Sendable {
    fileprivate let synced = Mutex<DictionaryLogStore.State?>(nil)

    public init() {}
}

/// A small third-party log backend: entries in a dictionary keyed by index.
///
/// It exists to show that a backend written outside the framework needs only the `RaftStorage`
/// protocols, and proves itself with `RaftStorageTesting`'s conformance suite - including the
/// restart and crash checks, because its state survives a reopen through a ``DictionaryDisk``
/// and a crash loses exactly what it did not sync there.
public final class DictionaryLogStore: LogStore {
    fileprivate struct State: Sendable {
        var entries: [UInt64: Entry] = [:]
        var boundary = SnapshotMarker.zero
        var last: UInt64 = 0
        var hardState = HardState()
        var markers: [SnapshotMarker] = [.zero]
        var syncedHardState = HardState()
        /// Set by `close()`; every other call then throws `closed`.
        var closed = false
    }

    private let state: Mutex<State>
    private let disk: DictionaryDisk

    /// The disk this store syncs to, for reopening it.
    public var diskForTests: DictionaryDisk { disk }

    /// Opens the store from what `disk` holds (empty for a new disk).
    ///
    /// As the `LogStore` restart rule says, the log starts after its newest snapshot marker
    /// that the stored commit covers: a compaction that was not synced before a crash is not
    /// on the disk, but the marker (synced when recorded) is, and the entries behind it are
    /// no longer needed.
    public init(disk: DictionaryDisk) {
        self.disk = disk
        var opened = disk.synced.withLock { $0 } ?? State()
        opened.closed = false
        if let newest = opened.markers.last(where: { $0.index <= opened.hardState.commit }),
            newest.index > opened.boundary.index, newest.index <= opened.last
        {
            for dropped in (opened.boundary.index + 1)...newest.index { opened.entries[dropped] = nil }
            opened.boundary = newest
        }
        self.state = Mutex(opened)
    }

    /// Runs `body` on the state under the lock, or throws `closed` once the store is closed.
    private func withOpenState<Result: Sendable>(_ body: (inout State) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try state.withLock { (state) throws(StorageError) -> Result in
            guard !state.closed else { throw StorageError(.closed, "the dictionary log store is closed") }
            return try body(&state)
        }
    }

    public func firstIndex() throws(StorageError) -> UInt64 { try withOpenState { $0.boundary.index + 1 } }
    public func lastIndex() throws(StorageError) -> UInt64 { try withOpenState { $0.last } }
    public func hardState() throws(StorageError) -> HardState { try withOpenState { $0.hardState } }
    public func snapshotMarker() throws(StorageError) -> SnapshotMarker { try withOpenState { $0.markers.last! } }

    public func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] {
        try withOpenState { state in state.markers.filter { $0.index <= state.hardState.commit } }
    }

    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        try withOpenState { (state) throws(StorageError) in
            guard index >= state.boundary.index else { throw .compacted() }
            guard index <= state.last else { throw .unavailable() }
            return index == state.boundary.index ? state.boundary.term : state.entries[index]!.term
        }
    }

    public func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        try withOpenState { (state) throws(StorageError) in
            guard range.lowerBound > state.boundary.index else { throw .compacted() }
            guard range.upperBound <= state.last + 1, state.last > state.boundary.index else { throw .unavailable() }
            let wanted = range.map { state.entries[$0]! }
            return Array(wanted.prefix(maxBytes: maxBytes))
        }
    }

    public func save(hardState: HardState, entries new: [Entry]) throws(StorageError) {
        let mustSync = try withOpenState { (state) throws(StorageError) -> Bool in
            let kept = new.filter { $0.index > state.boundary.index }
            if let first = kept.first?.index {
                guard first <= state.last + 1 else { throw StorageError(.invalidArgument, "missing log entry [last: \(state.last), append at: \(first)]") }
                guard kept.enumerated().allSatisfy({ $0.element.index == first + UInt64($0.offset) }) else {
                    throw StorageError(.invalidArgument, "entries are not contiguous")
                }
            }
            // The framework's HardState rules, checked before anything changes.
            try hardState.validate(replacing: state.hardState, lastIndexAfterSave: kept.last?.index ?? state.last)
            if let first = kept.first?.index {
                for index in first...max(first, state.last) { state.entries[index] = nil }
                for entry in kept { state.entries[entry.index] = entry }
                state.last = kept.last!.index
            }
            if !hardState.isEmpty { state.hardState = hardState }
            return hardState.mustSync(previous: state.syncedHardState, entryCount: new.count)
        }
        if mustSync { try sync() }
    }

    public func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try withOpenState { (state) throws(StorageError) in
            guard metadata.index > state.markers.last!.index else { throw .snapshotOutOfDate() }
            state.entries.removeAll()
            state.boundary = metadata.marker
            state.last = metadata.index
            state.markers.append(metadata.marker)
        }
        try sync()
    }

    public func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        let term = try term(at: metadata.index)
        try withOpenState { (state) throws(StorageError) in
            guard metadata.index > state.markers.last!.index else { throw .snapshotOutOfDate() }
            guard term == metadata.term else { throw StorageError(.invalidArgument, "term \(metadata.term) is not the log's \(term)") }
            state.markers.append(metadata.marker)
        }
        try sync()
    }

    public func compact(through index: UInt64) throws(StorageError) {
        let term = try term(at: index)
        try withOpenState { (state) throws(StorageError) in
            guard index > state.boundary.index else { throw .compacted() }
            for dropped in (state.boundary.index + 1)...index { state.entries[dropped] = nil }
            state.boundary = SnapshotMarker(index: index, term: term)
        }
    }

    public func sync() throws(StorageError) {
        let current = try withOpenState { state in
            state.syncedHardState = state.hardState
            return state
        }
        disk.synced.withLock { $0 = current }
    }

    public func resume(from marker: SnapshotMarker) throws(StorageError) {
        guard try snapshotMarker().matches(marker) else {
            throw StorageError(.unsupported, "only the newest snapshot marker can be resumed from")
        }
    }

    /// Syncs and closes the store: every later call but `close()` throws `closed`; closing
    /// again does nothing.
    public func close() throws(StorageError) {
        let closing: State? = state.withLock { state in
            guard !state.closed else { return nil }
            state.closed = true
            state.syncedHardState = state.hardState
            return state
        }
        if let closing { disk.synced.withLock { $0 = closing } }
    }
}
