/// Where snapshots are kept: saved, listed, loaded newest first, trimmed to the newest few.
///
/// Backends: `MemorySnapshotStore`, `EtcdSnapshotStore` (etcd `.snap` files) and
/// `LZ4SnapshotStore` (LZ4-compressed `.snap.lz4` files).
///
/// ## Implementation requirements
///
/// `RaftStorageTesting.SnapshotStoreConformance` checks every rule below.
///
/// - ``save(_:)`` is durable when it returns, and atomic: after a crash at any point the store
///   holds either the old set of snapshots or the new one, never a partial snapshot that loads.
///   Saving an empty snapshot (index 0) does nothing, as etcd's `SaveSnap`. Saving a snapshot
///   whose marker is already stored replaces it.
/// - ``list()`` returns the markers of the stored snapshots, newest first (by term, then index).
/// - ``loadNewest(matching:)`` returns the newest snapshot whose (index, term) equals one of
///   `markers` (etcd's `LoadNewestAvailable`), or `nil` when none does. A stored snapshot that
///   fails to read or verify is set aside (renamed with a `.broken` suffix, never deleted) and
///   the next older one is tried. Newer snapshots that read fine but do not match are left alone.
/// - ``loadNewest()`` is the same without the matching.
/// - ``retainNewest(_:)`` removes all but the newest `count` snapshots and returns the removed
///   markers; it never removes the newest one.
/// - Concurrent calls are safe.
/// - Errors are ``StorageError``s; corrupt stored data never traps.
public protocol SnapshotStore: Sendable {
    /// Stores `snapshot` durably and atomically.
    func save(_ snapshot: Snapshot) throws(StorageError)

    /// The markers of the stored snapshots, newest first.
    func list() throws(StorageError) -> [SnapshotMarker]

    /// The newest readable snapshot whose (index, term) is one of `markers`, setting aside
    /// unreadable ones on the way.
    func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot?

    /// The newest readable snapshot, setting aside unreadable ones on the way.
    func loadNewest() throws(StorageError) -> Snapshot?

    /// Removes all but the newest `count` snapshots (at least one is always kept) and returns
    /// the markers removed.
    @discardableResult
    func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker]
}
