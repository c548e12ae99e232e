import MemoryStore
import RaftStorage
import Synchronization

/// A shared, ordered record of the calls made to the recording stores.
final class Journal: Sendable {
    private let calls = Mutex<[String]>([])
    func record(_ call: String) { calls.withLock { $0.append(call) } }
    var entries: [String] { calls.withLock { $0 } }
    func reset() { calls.withLock { $0.removeAll() } }
}

/// A memory log that records its write calls, and can pretend to hold extra snapshot markers or
/// another HardState.
final class RecordingLogStore: LogStore {
    let base = MemoryLogStore()
    let journal: Journal
    private let extraMarkers = Mutex<[SnapshotMarker]>([])
    private let resumedFrom = Mutex<SnapshotMarker?>(nil)
    private let pretendedHardState = Mutex<HardState?>(nil)

    init(journal: Journal) { self.journal = journal }

    /// Markers reported by `snapshotMarkers()` in addition to the base store's.
    func offerMarkers(_ markers: [SnapshotMarker]) { extraMarkers.withLock { $0 = markers } }
    var lastResume: SnapshotMarker? { resumedFrom.withLock { $0 } }
    /// Makes `hardState()` answer `state`, as a log that lost entries after `state` was saved
    /// would; a save of such a state is refused, so it cannot be stored for real.
    func pretendHardState(_ state: HardState) { pretendedHardState.withLock { $0 = state } }

    func firstIndex() throws(StorageError) -> UInt64 { try base.firstIndex() }
    func lastIndex() throws(StorageError) -> UInt64 { try base.lastIndex() }
    func term(at index: UInt64) throws(StorageError) -> UInt64 { try base.term(at: index) }
    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] { try base.entries(in: range, maxBytes: maxBytes) }
    func hardState() throws(StorageError) -> HardState {
        if let pretended = pretendedHardState.withLock({ $0 }) { return pretended }
        return try base.hardState()
    }
    func snapshotMarker() throws(StorageError) -> SnapshotMarker {
        if let resumed = resumedFrom.withLock({ $0 }) { return resumed }
        return try base.snapshotMarker()
    }
    func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] {
        (extraMarkers.withLock { $0 } + (try base.snapshotMarkers())).sorted { $0.index < $1.index }
    }

    func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        journal.record("log.save(\(entries.count) entries, commit \(hardState.commit))")
        try base.save(hardState: hardState, entries: entries)
    }

    func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        journal.record("log.applySnapshot(\(metadata.index))")
        try base.applySnapshot(metadata)
    }

    func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        journal.record("log.recordSnapshot(\(metadata.index))")
        try base.recordSnapshot(metadata)
    }

    func compact(through index: UInt64) throws(StorageError) {
        journal.record("log.compact(\(index))")
        try base.compact(through: index)
    }

    func sync() throws(StorageError) { journal.record("log.sync") }

    func resume(from marker: SnapshotMarker) throws(StorageError) {
        journal.record("log.resume(\(marker.index))")
        resumedFrom.withLock { $0 = marker }
    }

    func close() throws(StorageError) { journal.record("log.close") }
}

/// A memory snapshot store that records its write calls.
final class RecordingSnapshotStore: SnapshotStore {
    let base = MemorySnapshotStore()
    let journal: Journal

    init(journal: Journal) { self.journal = journal }

    func save(_ snapshot: Snapshot) throws(StorageError) {
        journal.record("snapshots.save(\(snapshot.metadata.index))")
        try base.save(snapshot)
    }

    func list() throws(StorageError) -> [SnapshotMarker] { try base.list() }
    func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot? { try base.loadNewest(matching: markers) }
    func loadNewest() throws(StorageError) -> Snapshot? { try base.loadNewest() }

    func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] {
        journal.record("snapshots.retainNewest(\(count))")
        return try base.retainNewest(count)
    }
}
