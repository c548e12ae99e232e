/// raft's log: the stable entries in a ``Storage`` plus the ``Unstable`` entries and snapshot
/// not yet acknowledged as persisted, with the committed, applying and applied indexes (raft's
/// `raftLog`).
///
/// ## Opening
///
/// ``init(storage:applied:maxApplyingBytes:)`` starts from what the storage holds, so a
/// restarted node needs no extra calls: ``committed`` is the stored HardState's commit
/// (`storage.initialState().hardState.commit`, never below the snapshot index), and
/// ``applied`` is the storage's snapshot index, the state a node restores from its newest
/// snapshot. The committed entries after it are then returned by ``entriesToApply(allowUnstable:)``.
/// A state machine that keeps its own applied index passes it as `applied`. Unstable entries
/// start after the storage's last index.
///
/// ## One round, synchronous storage writes
///
/// ```swift
/// switch try log.append(leaderEntries, after: prevIndex, term: prevTerm, committed: leaderCommit) {
/// case .appended(let lastIndex): accept(upTo: lastIndex)  // answer the leader
/// case .mismatch: reject()
/// }
/// let write = log.beginWrite()                 // the snapshot and entries to save
/// try log.storage.save(hardState: hardState, entries: write.entries, snapshot: write.snapshot)
/// if let snapshot = write.snapshot {
///     log.stableSnapshot(at: snapshot.metadata.index, term: snapshot.metadata.term)
/// }
/// if let last = write.entries.last { log.stable(to: last.index, term: last.term) }
/// let batch = try log.beginApplying()          // committed entries, marked applying
/// // ... apply them ...
/// if let last = batch.last { try log.applied(to: last.index, bytes: batch.totalEncodedSize) }
/// ```
///
/// ## Asynchronous storage writes
///
/// As in raft's `AsyncStorageWrites`, ``beginWrite()`` may be called again before the previous
/// write is acknowledged: it hands out only what is not in flight yet. The acknowledgements,
/// ``stable(to:term:)`` and ``stableSnapshot(at:term:)``, arrive later and match by (index,
/// term); a stale one (the entries were replaced by a newer leader meanwhile) is refused with
/// the reason, ``Unstable/Refusal``, and changes nothing. Pass `allowUnstable: false` to
/// ``beginApplying(allowUnstable:)`` so only entries already persisted locally are applied.
///
/// ## Invariants
///
/// raft's: `applied <= applying <= committed <= lastIndex`, no committed entry is ever replaced,
/// and the log has no gaps. Where etcd panics when a call would break one, this type throws a
/// ``StorageError`` with code ``StorageError/Code/invariantViolation`` whose message names the
/// broken invariant and the numbers involved (`committed (12) must not pass lastIndex (10)`),
/// and changes nothing.
///
/// ## etcd names
///
/// | etcd raft (`raftLog`, `unstable`) | here |
/// | --- | --- |
/// | `newLog`, `newLogWithSize`, `Config.Applied` | ``init(storage:applied:maxApplyingBytes:)`` |
/// | `committed`, `applying`, `applied` | ``committed``, ``applying``, ``applied`` |
/// | `maxApplyingEntsSize`, `applyingEntsSize`, `applyingEntsPaused` | ``maxApplyingBytes``, ``applyingBytes``, ``isApplyingPaused`` |
/// | `firstIndex`, `lastIndex`, `term` | ``firstIndex()``, ``lastIndex()``, ``term(at:)`` |
/// | `lastEntryID().term` | ``lastTerm()`` |
/// | `matchTerm` | ``hasEntry(at:term:)`` |
/// | `isUpToDate` | ``isUpToDate(lastIndex:term:)`` |
/// | `findConflict` (0 for none) | ``firstConflict(in:)`` (`nil` for none) |
/// | `maybeAppend` (`lastnewi, ok`) | ``append(_:after:term:committed:)`` returning ``AppendResult`` |
/// | `append` | ``append(_:)`` |
/// | `commitTo` | ``commit(to:)`` |
/// | `maybeCommit` | ``commit(to:term:)`` |
/// | `maxAppliableIndex` | ``maxAppliableIndex(allowUnstable:)`` |
/// | `hasNextCommittedEnts`, `nextCommittedEnts` | ``hasEntriesToApply(allowUnstable:)``, ``entriesToApply(allowUnstable:)`` |
/// | `acceptApplying` | ``markApplying(through:bytes:allowUnstable:)``; with the read: ``beginApplying(allowUnstable:)`` |
/// | `appliedTo` | ``applied(to:bytes:)`` |
/// | `nextUnstableEnts`, `hasNextUnstableEnts` | ``entriesToPersist``, ``hasEntriesToPersist`` |
/// | `hasNextOrInProgressUnstableEnts` | ``hasUnpersistedEntries`` |
/// | `nextUnstableSnapshot`, `hasNextUnstableSnapshot` | ``snapshotToPersist`` (`nil` for none) |
/// | `hasNextOrInProgressSnapshot` | ``hasPendingSnapshot`` |
/// | `acceptUnstable` | ``markInFlight()``; with the reads: ``beginWrite()`` |
/// | `stableTo`, `stableSnapTo` | ``stable(to:term:)``, ``stableSnapshot(at:term:)`` returning ``Unstable/Acknowledgement`` |
/// | `restore`, `snapshot` | ``restore(_:)``, ``snapshot()`` |
/// | `slice` | ``entries(in:maxBytes:)`` |
/// | `entries`, `allEntries` | ``entries(from:maxBytes:)``, ``allEntries()`` |
/// | `unstable.maybeFirstIndex`, `maybeLastIndex`, `maybeTerm` | ``Unstable/firstIndex``, ``Unstable/lastIndex``, ``Unstable/term(at:)`` |
/// | `unstable.offsetInProgress`, `snapshotInProgress` | ``Unstable/inFlightEnd``, ``Unstable/isSnapshotInFlight`` |
/// | `unstable.nextEntries`, `nextSnapshot` | ``Unstable/entriesToPersist``, ``Unstable/snapshotToPersist`` |
/// | `unstable.acceptInProgress` | ``Unstable/markInFlight()``; with the reads: ``Unstable/beginWrite()`` |
/// | `unstable.stableTo`, `stableSnapTo` | ``Unstable/stable(to:term:)``, ``Unstable/stableSnapshot(at:term:)`` |
/// | `unstable.truncateAndAppend` | ``Unstable/append(_:)`` |
/// | `unstable.slice` | ``Unstable/entries(in:)`` |
/// | `unstable.restore` | ``Unstable/restore(_:)`` |
/// | `limitSize` | `Collection<Entry>.prefix(maxBytes:)`, `prefixCount(maxBytes:)` |
/// | `entsSize` | `Collection<Entry>.totalEncodedSize` |
public struct RaftLog<Log: LogStore, Snapshots: SnapshotStore>: Sendable {
    /// The stable storage the log reads from.
    public let storage: Storage<Log, Snapshots>
    /// The entries and snapshot not yet acknowledged as persisted.
    public internal(set) var unstable: Unstable
    /// The highest index known to be stored on a quorum.
    public internal(set) var committed: UInt64
    /// The highest index handed to the application to apply (``beginApplying(allowUnstable:)``,
    /// ``markApplying(through:bytes:allowUnstable:)``); some of those may not be applied yet.
    public internal(set) var applying: UInt64
    /// The highest index the application has reported applied.
    public internal(set) var applied: UInt64
    /// The most bytes (``Entry/encodedSize``) of entries handed out to apply and not yet
    /// reported applied (raft's `maxApplyingEntsSize`); `.max` for no limit. A batch always
    /// holds at least one entry.
    public var maxApplyingBytes: UInt64
    /// The bytes of entries handed out to apply and not yet reported applied.
    public internal(set) var applyingBytes: UInt64
    /// Whether handing out entries to apply waits until some are reported applied (the
    /// ``maxApplyingBytes`` budget is used up, or the last batch was cut by it).
    public internal(set) var isApplyingPaused: Bool

    /// A log over `storage`, starting from what it holds (raft's `newLog` with
    /// `Config.Applied`).
    ///
    /// - ``committed`` is the stored HardState's commit, but never below the snapshot index.
    /// - ``applied`` and ``applying`` are `applied` when given, otherwise the storage's
    ///   snapshot index (or the index before the storage's first entry, if the log was
    ///   compacted past the snapshot): the application restores its newest snapshot, then
    ///   applies the committed entries after it (``entriesToApply(allowUnstable:)``).
    /// - Unstable entries start after the storage's last index; nothing is in flight.
    ///
    /// - Parameters:
    ///   - storage: the node's storage, opened (and recovered) already.
    ///   - applied: the index the application's state machine has already applied, when it
    ///     keeps its own; `nil` to start at the snapshot.
    ///   - maxApplyingBytes: ``maxApplyingBytes``.
    /// - Throws: ``StorageError/Code/invariantViolation`` when the stored commit is past the
    ///   last index, or `applied` is past the commit or before the first entry still stored;
    ///   whatever the storage throws.
    public init(storage: Storage<Log, Snapshots>, applied: UInt64? = nil, maxApplyingBytes: UInt64 = .max) throws(StorageError) {
        let first = try storage.firstIndex()
        let last = try storage.lastIndex()
        let hardState = try storage.initialState().hardState
        let beforeFirst = first > 0 ? first - 1 : 0
        let start = max(storage.snapshotMetadata.index, beforeFirst)
        let committed = max(hardState.commit, start)
        guard committed <= last else {
            throw StorageError(
                .invariantViolation,
                "committed (\(committed)) must not pass lastIndex (\(last)): was the raft log corrupted, truncated, or lost?")
        }
        if let applied {
            guard applied <= committed else {
                throw StorageError(.invariantViolation, "applied (\(applied)) must not pass committed (\(committed))")
            }
            guard applied >= beforeFirst else {
                throw StorageError(
                    .invariantViolation,
                    "applied (\(applied)) must not be below firstIndex - 1 (\(beforeFirst)): the entries after it are compacted")
            }
        }
        self.storage = storage
        self.unstable = Unstable(offset: last + 1)
        self.committed = committed
        self.applied = applied ?? start
        self.applying = applied ?? start
        self.maxApplyingBytes = maxApplyingBytes
        self.applyingBytes = 0
        self.isApplyingPaused = false
    }

    // MARK: - Indexes and terms

    /// The first index available: after the pending snapshot, or the storage's first index.
    public func firstIndex() throws(StorageError) -> UInt64 {
        if let index = unstable.firstIndex { return index }
        return try storage.firstIndex()
    }

    /// The last index: of the unstable entries, the pending snapshot, or the storage.
    public func lastIndex() throws(StorageError) -> UInt64 {
        if let index = unstable.lastIndex { return index }
        return try storage.lastIndex()
    }

    /// The term at `index`; 0 outside `[firstIndex - 1, lastIndex]` (raft 3.4). The unstable
    /// part answers first, without reading storage. Throws the storage's
    /// ``StorageError/Code/compacted`` or ``StorageError/Code/unavailable``.
    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        if let term = unstable.term(at: index) { return term }
        let first = try firstIndex()
        let dummyIndex = first > 0 ? first - 1 : 0
        guard index >= dummyIndex, index <= (try lastIndex()) else { return 0 }
        return try storage.term(at: index)
    }

    /// The term of the last entry.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when it cannot be read.
    public func lastTerm() throws(StorageError) -> UInt64 {
        do {
            return try term(at: lastIndex())
        } catch {
            throw StorageError(.invariantViolation, "the last entry's term must be readable (\(error))")
        }
    }

    /// Whether the log holds an entry at `index` with `term` (raft's `matchTerm`); `false` when
    /// the term there cannot be read.
    public func hasEntry(at index: UInt64, term: UInt64) -> Bool {
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

    /// The outcome of ``append(_:after:term:committed:)``.
    public enum AppendResult: Hashable, Sendable {
        /// The log holds the leader's previous entry: the leader's entries through `lastIndex`
        /// are now in the log (the new or conflicting ones appended).
        case appended(lastIndex: UInt64)
        /// The log does not hold the leader's previous entry (index and term); nothing changed.
        case mismatch
    }

    /// The index of the first entry in `entries` whose term differs from the log's (an entry
    /// the log does not have counts as different), or `nil` when the log holds them all.
    /// `entries` must be contiguous.
    public func firstConflict(in entries: [Entry]) -> UInt64? {
        entries.first { !hasEntry(at: $0.index, term: $0.term) }?.index
    }

    /// Handles a leader's append: when the log holds the entry at `index` with `term` (the
    /// leader's previous entry), appends the part of `entries` that is new or conflicts,
    /// commits up to `min(committed, last new index)`, and returns
    /// ``AppendResult/appended(lastIndex:)``; otherwise changes nothing and returns
    /// ``AppendResult/mismatch``.
    ///
    /// - Parameters:
    ///   - entries: the leader's entries, contiguous from `index + 1`.
    ///   - index: the index of the entry before them.
    ///   - term: the term of that entry.
    ///   - leaderCommit: the leader's commit index.
    /// - Throws: ``StorageError/Code/invariantViolation`` when `entries` are not contiguous
    ///   from `index + 1`, or a conflicting entry is at or below ``committed``.
    public mutating func append(_ entries: [Entry], after index: UInt64, term: UInt64, committed leaderCommit: UInt64) throws(StorageError) -> AppendResult {
        for (position, entry) in entries.enumerated() where entry.index != index + 1 + UInt64(position) {
            throw StorageError(
                .invariantViolation,
                "appended entries must be contiguous from index \(index + 1): found index \(entry.index) at position \(position)")
        }
        guard hasEntry(at: index, term: term) else { return .mismatch }
        let lastNew = index + UInt64(entries.count)
        if let conflict = firstConflict(in: entries) {
            guard conflict > committed else {
                throw StorageError(.invariantViolation, "conflicting entry (\(conflict)) must be above committed (\(committed))")
            }
            try append(Array(entries[Int(conflict - (index + 1))...]))
        }
        try commit(to: min(leaderCommit, lastNew))
        return .appended(lastIndex: lastNew)
    }

    /// Appends `entries` to the unstable part, replacing any entries from the first one's index
    /// (and ending in-flight tracking for those), and returns the new last index.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when that would replace a committed
    ///   entry or leave a gap after the last index.
    @discardableResult
    public mutating func append(_ entries: [Entry]) throws(StorageError) -> UInt64 {
        guard let first = entries.first else { return try lastIndex() }
        guard first.index > committed else {
            throw StorageError(
                .invariantViolation, "first appended index (\(first.index)) must be above committed (\(committed))")
        }
        try unstable.append(entries)
        return try lastIndex()
    }

    // MARK: - Commit

    /// Moves the commit index forward to `index` (never backwards), as a follower does when the
    /// leader says so (raft's `commitTo`).
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when `index` is past the last index,
    ///   the classic sign of a lost or truncated log.
    public mutating func commit(to index: UInt64) throws(StorageError) {
        guard committed < index else { return }
        let last = try lastIndex()
        guard index <= last else {
            throw StorageError(
                .invariantViolation,
                "committed (\(index)) must not pass lastIndex (\(last)): was the raft log corrupted, truncated, or lost?")
        }
        committed = index
    }

    /// Commits `index` when it is beyond the commit index and the entry there has `term`, as a
    /// leader does once a quorum holds it (a leader commits only entries of its own term;
    /// raft's `maybeCommit`). Returns whether the commit index moved. A `term` of 0 never
    /// matches.
    @discardableResult
    public mutating func commit(to index: UInt64, term: UInt64) throws(StorageError) -> Bool {
        guard term != 0, index > committed, hasEntry(at: index, term: term) else { return false }
        try commit(to: index)
        return true
    }

    // MARK: - Snapshots

    /// Replaces the log with a snapshot from the leader: ``committed`` becomes its index, and
    /// the snapshot is pending (``snapshotToPersist``) until acknowledged.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when the snapshot is older than
    ///   ``committed`` (committed entries would be lost).
    public mutating func restore(_ snapshot: Snapshot) throws(StorageError) {
        let index = snapshot.metadata.index
        guard index >= committed else {
            throw StorageError(.invariantViolation, "snapshot index (\(index)) must not go below committed (\(committed))")
        }
        committed = index
        unstable.restore(snapshot)
    }

    /// The pending snapshot, or the storage's newest one.
    public func snapshot() throws(StorageError) -> Snapshot {
        if let pending = unstable.snapshot { return pending }
        return try storage.snapshot()
    }

    // MARK: - Reading entries

    /// The entries from `index` to the end, at most `maxBytes` (but at least one); empty when
    /// `index` is past the last index.
    public func entries(from index: UInt64, maxBytes: UInt64 = .max) throws(StorageError) -> [Entry] {
        let last = try lastIndex()
        guard index <= last else { return [] }
        return try entries(in: index..<(last + 1), maxBytes: maxBytes)
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

    /// The entries in `range`, from storage and the unstable part, cut to `maxBytes` (but at
    /// least one) by raft's size rule (raft's `slice`).
    ///
    /// - Throws: ``StorageError/Code/compacted`` when `range` starts below the first index;
    ///   ``StorageError/Code/invariantViolation`` when it ends past the last index, or storage
    ///   lacks entries it should hold.
    public func entries(in range: Range<UInt64>, maxBytes: UInt64 = .max) throws(StorageError) -> [Entry] {
        let first = try firstIndex()
        guard range.lowerBound >= first else { throw .compacted() }
        let last = try lastIndex()
        guard range.upperBound <= last + 1 else {
            throw StorageError(
                .invariantViolation,
                "entries [\(range.lowerBound), \(range.upperBound)) must not pass lastIndex (\(last)); the first index is \(first)")
        }
        guard !range.isEmpty else { return [] }
        let offset = unstable.offset
        if range.lowerBound >= offset {
            let unstableEntries = try unstable.entries(in: range)
            return Array(unstableEntries.prefix(maxBytes: maxBytes))
        }
        let stableEnd = min(range.upperBound, offset)
        var result: [Entry]
        do {
            result = try storage.entries(in: range.lowerBound..<stableEnd, maxBytes: maxBytes)
        } catch where error.code == .unavailable {
            throw StorageError(
                .invariantViolation, "entries [\(range.lowerBound), \(stableEnd)) must be available from storage (\(error))")
        }
        // Storage cut the read short (the size limit), or nothing unstable was asked for.
        guard result.count == Int(stableEnd - range.lowerBound), range.upperBound > offset else { return result }
        let tail = try unstable.entries(in: offset..<range.upperBound)
        guard maxBytes != .max else {
            result.append(contentsOf: tail)
            return result
        }
        var budget = EntrySizeBudget(maxBytes: maxBytes)
        for entry in result { _ = budget.take(entry) }
        for entry in tail {
            guard budget.take(entry) else { break }
            result.append(entry)
        }
        return result
    }
}
