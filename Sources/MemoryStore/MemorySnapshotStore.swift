public import RaftStorage
import Synchronization

/// Snapshots kept in memory, newest first; nothing is durable.
///
/// Meant for tests and for applications that rebuild state from peers. ``reset()`` empties it.
public final class MemorySnapshotStore: SnapshotStore {
    private let snapshots = Mutex<[SnapshotMarker: Snapshot]>([:])

    /// An empty store.
    public init() {}

    public func save(_ snapshot: Snapshot) throws(StorageError) {
        guard !snapshot.isEmpty else { return }
        snapshots.withLock { $0[snapshot.metadata.marker] = snapshot }
    }

    public func list() throws(StorageError) -> [SnapshotMarker] {
        snapshots.withLock { $0.keys.sorted(by: >) }
    }

    public func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot? {
        let wanted = Set(markers.map { SnapshotMarker(index: $0.index, term: $0.term) })
        return snapshots.withLock { stored in
            stored.keys.sorted(by: >).first(where: wanted.contains).flatMap { stored[$0] }
        }
    }

    public func loadNewest() throws(StorageError) -> Snapshot? {
        snapshots.withLock { stored in stored.keys.max().flatMap { stored[$0] } }
    }

    @discardableResult
    public func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] {
        snapshots.withLock { stored in
            let removed = Array(stored.keys.sorted(by: >).dropFirst(max(1, count)))
            for marker in removed { stored[marker] = nil }
            return removed
        }
    }

    /// Removes every snapshot.
    public func reset() {
        snapshots.withLock { $0.removeAll() }
    }
}
