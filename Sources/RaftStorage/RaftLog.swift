/// raft's log: the stable entries in a ``Storage`` plus the ``Unstable`` entries and snapshot not
/// yet persisted, with the committed and applied indexes (raft's `raftLog`).
///
/// A raft implementation appends leader entries through ``maybeAppend(index:logTerm:committed:entries:)``,
/// persists ``unstableEntries()`` and the pending snapshot with ``Storage/save(hardState:entries:snapshot:)``,
/// then reports them saved with ``stable(to:term:)`` and ``stableSnapshot(to:)``, and applies
/// ``nextEntriesToApply()``.
///
/// Invariants (raft's): `applied <= committed <= lastIndex`, and no committed entry is ever
/// replaced. Where etcd panics when a call would break one, this type throws a
/// ``StorageError`` with code ``StorageError/Code/invariantViolation`` whose message names the
/// broken invariant and the numbers involved, and changes nothing.
public struct RaftLog<Log: LogStore, Snapshots: SnapshotStore>: Sendable {
    /// The stable storage the log reads from.
    public let storage: Storage<Log, Snapshots>
    /// The entries and snapshot not yet persisted.
    public internal(set) var unstable: Unstable
    /// The highest index known to be stored on a quorum.
    public internal(set) var committed: UInt64
    /// The highest index the application has applied.
    public internal(set) var applied: UInt64
    /// The byte limit for one ``nextEntriesToApply()`` batch (etcd's `MaxCommittedSizePerReady`).
    public var maxNextEntriesSize: UInt64

    /// A log over `storage`: unstable entries start after its last index, and committed and
    /// applied at the index before its first (raft's `newLog`).
    public init(storage: Storage<Log, Snapshots>, maxNextEntriesSize: UInt64 = .max) throws(StorageError) {
        self.storage = storage
        let first = try storage.firstIndex()
        let last = try storage.lastIndex()
        self.unstable = Unstable(offset: last + 1)
        self.committed = first - 1
        self.applied = first - 1
        self.maxNextEntriesSize = maxNextEntriesSize
    }

    // MARK: - Indexes and terms

    /// The first index available: after the pending snapshot, or the storage's first index.
    public func firstIndex() throws(StorageError) -> UInt64 {
        if let index = unstable.maybeFirstIndex() { return index }
        return try storage.firstIndex()
    }

    /// The last index: of the unstable entries, the pending snapshot, or the storage.
    public func lastIndex() throws(StorageError) -> UInt64 {
        if let index = unstable.maybeLastIndex() { return index }
        return try storage.lastIndex()
    }

    /// The term at `index`; 0 outside `[firstIndex - 1, lastIndex]` (raft 3.4). Throws the
    /// storage's ``StorageError/Code/compacted`` or ``StorageError/Code/unavailable``.
    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        let dummyIndex = try firstIndex() - 1
        guard index >= dummyIndex, index <= (try lastIndex()) else { return 0 }
        if let term = unstable.maybeTerm(index) { return term }
        return try storage.term(at: index)
    }

    /// The term of the last entry.
    public func lastTerm() throws(StorageError) -> UInt64 {
        do {
            return try term(at: lastIndex())
        } catch {
            throw StorageError(.invariantViolation, "unexpected error when getting the last term (\(error))")
        }
    }

    /// Whether the entry at `index` has `term`; false when its term cannot be read.
    public func matchTerm(_ index: UInt64, _ term: UInt64) -> Bool {
        guard let known = try? self.term(at: index) else { return false }
        return known == term
    }

    /// Whether a candidate whose log ends at (`lastIndex`, `term`) is at least as up to date
    /// as this log (raft §5.4.1).
    public func isUpToDate(lastIndex candidateIndex: UInt64, term candidateTerm: UInt64) throws(StorageError) -> Bool {
        let ourTerm = try lastTerm()
        let ourIndex = try lastIndex()
        return candidateTerm > ourTerm || (candidateTerm == ourTerm && candidateIndex >= ourIndex)
    }

    // MARK: - Appending

    /// The index of the first entry in `entries` whose term differs from the log's (an entry
    /// the log does not have counts as different), or 0 when all match. `entries` must be
    /// contiguous.
    public func findConflict(_ entries: [Entry]) -> UInt64 {
        for entry in entries where !matchTerm(entry.index, entry.term) {
            return entry.index
        }
        return 0
    }

    /// Handles a leader's append: when the log has (`index`, `logTerm`), appends the part of
    /// `entries` that is new or conflicts, commits up to `min(committed, last new index)`, and
    /// returns the last new index; returns `nil` when the log does not match.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when a conflicting entry is at or
    ///   below the committed index.
    public mutating func maybeAppend(index: UInt64, logTerm: UInt64, committed leaderCommit: UInt64, entries: [Entry]) throws(StorageError) -> UInt64? {
        guard matchTerm(index, logTerm) else { return nil }
        let lastNew = index + UInt64(entries.count)
        let conflict = findConflict(entries)
        if conflict != 0 {
            guard conflict > committed else {
                throw StorageError(.invariantViolation, "entry \(conflict) conflict with committed entry [committed(\(committed))]")
            }
            try append(Array(entries[Int(conflict - (index + 1))...]))
        }
        try commit(to: min(leaderCommit, lastNew))
        return lastNew
    }

    /// Appends `entries` to the unstable part, replacing any entries from the first one's index,
    /// and returns the new last index.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when that would replace a committed entry.
    @discardableResult
    public mutating func append(_ entries: [Entry]) throws(StorageError) -> UInt64 {
        guard let first = entries.first else { return try lastIndex() }
        guard first.index - 1 >= committed else {
            throw StorageError(.invariantViolation, "after(\(first.index - 1)) is out of range [committed(\(committed))]")
        }
        unstable.truncateAndAppend(entries)
        return try lastIndex()
    }

    /// The entries not yet persisted.
    public func unstableEntries() -> [Entry] { unstable.entries }

    // MARK: - Commit and apply

    /// Moves the commit index forward to `index` (never backwards).
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when `index` is past the last index,
    ///   the classic sign of a lost or truncated log.
    public mutating func commit(to index: UInt64) throws(StorageError) {
        guard committed < index else { return }
        let last = try lastIndex()
        guard index <= last else {
            throw StorageError(
                .invariantViolation,
                "tocommit(\(index)) is out of range [lastIndex(\(last))]. Was the raft log corrupted, truncated, or lost?")
        }
        committed = index
    }

    /// Commits `maxIndex` if it is beyond the commit index and its entry has `term` (a leader
    /// only commits entries of its own term); returns whether it did.
    @discardableResult
    public mutating func maybeCommit(maxIndex: UInt64, term: UInt64) throws(StorageError) -> Bool {
        guard maxIndex > committed else { return false }
        let known: UInt64
        do {
            known = try self.term(at: maxIndex)
        } catch where error.code == .compacted {
            known = 0
        }
        guard known == term else { return false }
        try commit(to: maxIndex)
        return true
    }

    /// Records that the application applied everything through `index`; 0 is ignored.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when `index` is beyond the commit
    ///   index or behind the applied index.
    public mutating func applied(to index: UInt64) throws(StorageError) {
        guard index != 0 else { return }
        guard index <= committed, index >= applied else {
            throw StorageError(.invariantViolation, "applied(\(index)) is out of range [prevApplied(\(applied)), committed(\(committed))]")
        }
        applied = index
    }

    /// Whether there are committed entries the application has not applied yet.
    public func hasNextEntriesToApply() throws(StorageError) -> Bool {
        let start = max(applied + 1, try firstIndex())
        return committed + 1 > start
    }

    /// The committed entries not yet applied, at most ``maxNextEntriesSize`` bytes (at least one).
    public func nextEntriesToApply() throws(StorageError) -> [Entry] {
        let start = max(applied + 1, try firstIndex())
        guard committed + 1 > start else { return [] }
        do {
            return try slice(start, committed + 1, maxBytes: maxNextEntriesSize)
        } catch {
            throw StorageError(.invariantViolation, "unexpected error when getting unapplied entries (\(error))")
        }
    }

    // MARK: - Persistence feedback

    /// Reports that the entries through `index` (with `term` there) are persisted.
    public mutating func stable(to index: UInt64, term: UInt64) {
        unstable.stable(to: index, term: term)
    }

    /// Reports that the pending snapshot at `index` is persisted.
    public mutating func stableSnapshot(to index: UInt64) {
        unstable.stableSnapshot(to: index)
    }

    /// Replaces the log with a snapshot from the leader; committed becomes its index.
    public mutating func restore(_ snapshot: Snapshot) {
        committed = snapshot.metadata.index
        unstable.restore(snapshot)
    }

    /// The pending snapshot, or the storage's newest one.
    public func snapshot() throws(StorageError) -> Snapshot {
        if let pending = unstable.snapshot { return pending }
        return try storage.snapshot()
    }

    // MARK: - Reading entries

    /// The entries from `index` to the end, at most `maxBytes` (but at least one).
    public func entries(from index: UInt64, maxBytes: UInt64 = .max) throws(StorageError) -> [Entry] {
        let last = try lastIndex()
        guard index <= last else { return [] }
        return try slice(index, last + 1, maxBytes: maxBytes)
    }

    /// Every entry in the log, retrying if a compaction races with the read.
    public func allEntries() throws(StorageError) -> [Entry] {
        while true {
            do {
                return try entries(from: firstIndex())
            } catch where error.code == .compacted {
                continue
            }
        }
    }

    /// The entries in `lo..<hi` from storage and the unstable part, cut to `maxBytes` (but at
    /// least one).
    ///
    /// - Throws: ``StorageError/Code/compacted`` when `lo` is below the first index;
    ///   ``StorageError/Code/invariantViolation`` for bounds outside the log.
    public func slice(_ lo: UInt64, _ hi: UInt64, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        try checkBounds(lo, hi)
        guard lo < hi else { return [] }
        var result: [Entry] = []
        if lo < unstable.offset {
            let stableEnd = min(hi, unstable.offset)
            do {
                result = try storage.entries(in: lo..<stableEnd, maxBytes: maxBytes)
            } catch where error.code == .unavailable {
                throw StorageError(.invariantViolation, "entries[\(lo):\(stableEnd)) is unavailable from storage")
            }
            if result.count < Int(stableEnd - lo) { return result }
        }
        if hi > unstable.offset {
            result.append(contentsOf: try unstable.slice(max(lo, unstable.offset), hi))
        }
        return limitSize(result, maxBytes: maxBytes)
    }

    private func checkBounds(_ lo: UInt64, _ hi: UInt64) throws(StorageError) {
        guard lo <= hi else {
            throw StorageError(.invariantViolation, "invalid slice \(lo) > \(hi)")
        }
        let first = try firstIndex()
        guard lo >= first else { throw .compacted() }
        let end = try lastIndex() + 1
        guard hi <= end else {
            throw StorageError(.invariantViolation, "slice[\(lo),\(hi)) out of bound [\(first),\(end - 1)]")
        }
    }
}
