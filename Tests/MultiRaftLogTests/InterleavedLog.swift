import MultiRaftLog
import RaftStorage

/// A group's log whose every write is preceded by a write of a neighbour group to the same
/// engine, so the conformance cases run with records of several groups interleaved in the
/// files (and rotations between them).
///
/// For the crash checkers, which open a store per run and close it before reopening, it can
/// own its engine (closing the view closes the engine) and purge after every compaction, so
/// the purge's rewrites and file removals are among the crash points.
final class InterleavedLog: LogStore {
    let log: GroupLog
    let neighbour: UInt64
    let ownsEngine: Bool
    let purgeBudget: Int?

    init(_ log: GroupLog, neighbour: UInt64 = 3, ownsEngine: Bool = false, purgeBudget: Int? = nil) {
        self.log = log
        self.neighbour = neighbour
        self.ownsEngine = ownsEngine
        self.purgeBudget = purgeBudget
    }

    /// Appends one entry to the neighbour, without a sync.
    private func interleave() throws(StorageError) {
        let next = try log.engine.log(for: neighbour).lastIndex() + 1
        var batch = WriteBatch()
        batch.append([Entry(term: 1, index: next, data: Array(repeating: UInt8(truncatingIfNeeded: next), count: 100))], to: neighbour)
        try log.engine.write(batch, sync: false)
    }

    func firstIndex() throws(StorageError) -> UInt64 { try log.firstIndex() }
    func lastIndex() throws(StorageError) -> UInt64 { try log.lastIndex() }
    func term(at index: UInt64) throws(StorageError) -> UInt64 { try log.term(at: index) }
    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] { try log.entries(in: range, maxBytes: maxBytes) }
    func hardState() throws(StorageError) -> HardState { try log.hardState() }
    func snapshotMarker() throws(StorageError) -> SnapshotMarker { try log.snapshotMarker() }
    func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] { try log.snapshotMarkers() }

    func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        try interleave()
        try log.save(hardState: hardState, entries: entries)
    }

    func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try interleave()
        try log.applySnapshot(metadata)
    }

    func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try interleave()
        try log.recordSnapshot(metadata)
    }

    func compact(through index: UInt64) throws(StorageError) {
        try interleave()
        try log.compact(through: index)
        if let purgeBudget { try log.engine.purge(budget: purgeBudget) }
    }

    func sync() throws(StorageError) { try log.sync() }
    func resume(from marker: SnapshotMarker) throws(StorageError) { try log.resume(from: marker) }
    /// Closes the view, and the engine when it owns it - even when the view's final sync
    /// fails (after a failed write the engine refuses syncs), so its lock is released.
    func close() throws(StorageError) {
        do {
            try log.close()
        } catch {
            if ownsEngine { try? log.engine.close() }
            throw error
        }
        if ownsEngine { try log.engine.close() }
    }
    var recoveryActions: [RecoveryAction] { log.recoveryActions }
}
