import MemoryStore
import RaftStorage
import Synchronization

/// A broken log: it makes nothing durable until ``sync()`` or ``close()`` is called - saves that
/// raft's `MustSync` says must be durable, installed and recorded snapshots all stay in memory.
/// A restart that syncs and closes first cannot tell; a crash loses them. The conformance
/// suites' crash runs must catch it.
final class SyncOnRequestLogStore: LogStore {
    /// What survives a crash: a copy of the log as of the last sync or close.
    final class Disk: Sendable {
        let synced = Mutex<MemoryLogStore?>(nil)
    }

    let disk: Disk
    private let memory: MemoryLogStore

    /// Opens the log from what `disk` holds (empty for a new disk).
    init(disk: Disk = Disk()) {
        self.disk = disk
        self.memory = disk.synced.withLock { $0?.reopened() } ?? MemoryLogStore()
    }

    func firstIndex() throws(StorageError) -> UInt64 { try memory.firstIndex() }
    func lastIndex() throws(StorageError) -> UInt64 { try memory.lastIndex() }
    func term(at index: UInt64) throws(StorageError) -> UInt64 { try memory.term(at: index) }
    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] { try memory.entries(in: range, maxBytes: maxBytes) }
    func hardState() throws(StorageError) -> HardState { try memory.hardState() }
    func snapshotMarker() throws(StorageError) -> SnapshotMarker { try memory.snapshotMarker() }
    func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] { try memory.snapshotMarkers() }

    // The bug: none of these syncs.
    func save(hardState: HardState, entries: [Entry]) throws(StorageError) { try memory.save(hardState: hardState, entries: entries) }
    func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) { try memory.applySnapshot(metadata) }
    func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) { try memory.recordSnapshot(metadata) }

    func compact(through index: UInt64) throws(StorageError) { try memory.compact(through: index) }
    func resume(from marker: SnapshotMarker) throws(StorageError) { try memory.resume(from: marker) }

    func sync() throws(StorageError) {
        try memory.sync()
        disk.synced.withLock { $0 = memory.reopened() }
    }

    func close() throws(StorageError) {
        // Nothing is written after a close, so closing again stores the same copy.
        disk.synced.withLock { $0 = memory.reopened() }
        try memory.close()
    }
}
