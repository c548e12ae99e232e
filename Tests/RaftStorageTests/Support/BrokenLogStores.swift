import MemoryStore
import RaftStorage
import Synchronization
import Testing

/// A log store with one deliberate bug, for checking that the conformance suites catch it.
///
/// It forwards to a ``SyncOnRequestLogStore`` (a `MemoryLogStore` with a simulated disk) and
/// syncs after every write, so without a bug it is a correct durable store: a crash keeps
/// everything acknowledged. Each ``Bug`` changes one behaviour. `BrokenLogStore(bug: nil)` is the
/// control, which must pass every suite.
final class BrokenLogStore: LogStore {
    /// The rule a broken store breaks.
    enum Bug: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Makes nothing durable until `sync()` or `close()` (``SyncOnRequestLogStore``).
        case neverSyncs
        /// A save without entries is not synced, even when it changes the term or vote.
        case hardStateSavedWithoutSync
        /// An entry at an index the log holds replaces only the entries of the batch, not every
        /// entry after them.
        case truncatesOnlyTheOverlap
        /// `compact(through: i)` keeps entry `i`.
        case compactionKeepsTheEntry
        /// `compact(through: i)` drops entry `i + 1` too.
        case compactionDropsTheNextEntry
        /// Compaction is only remembered in memory: after a restart the log starts before its
        /// snapshot marker again, at whatever it never dropped.
        case compactionUndoneOnRestart
        /// `term(at:)` answers 0 at a boundary made by compaction (rather than a snapshot).
        case compactionLosesTheBoundaryTerm
        /// The HardState keeps term and commit but its vote always reads 0.
        case losesTheVote
        /// The HardState read after a restart has vote 0 (until the next HardState is saved).
        case losesTheVoteOnRestart
        /// A save without entries drops its HardState.
        case dropsHardStateWithoutEntries
        /// `entries(in:maxBytes:)` ignores `maxBytes`.
        case ignoresMaxBytes
        /// `entries(in:maxBytes:)` returns nothing when the first entry alone exceeds `maxBytes`.
        case returnsNothingUnderASmallLimit
        /// `term(at:)` throws `unavailable` instead of `compacted` below the boundary.
        case termBelowBoundaryUnavailable
        /// `applySnapshot` inside the log keeps the entries after the snapshot.
        case applySnapshotKeepsLaterEntries

        var testDescription: String { rawValue }

        /// Whether the bug shows through `Storage` as `StorageConformance` drives it (appends,
        /// commits, tail replacements above the commit, local snapshots with compaction,
        /// snapshots installed past the last index, restarts); the others only through
        /// `LogStoreConformance`.
        var showsThroughStorage: Bool {
            switch self {
            case .neverSyncs, .truncatesOnlyTheOverlap, .compactionKeepsTheEntry, .compactionDropsTheNextEntry,
                .compactionUndoneOnRestart, .compactionLosesTheBoundaryTerm, .losesTheVote, .losesTheVoteOnRestart,
                .dropsHardStateWithoutEntries:
                true
            case .hardStateSavedWithoutSync, .ignoresMaxBytes, .returnsNothingUnderASmallLimit, .termBelowBoundaryUnavailable,
                .applySnapshotKeepsLaterEntries:
                false
            }
        }

        /// Whether only a crash shows the bug: the suites' plain and reopen runs must pass.
        var onlyACrashShowsIt: Bool { self == .neverSyncs || self == .hardStateSavedWithoutSync }
    }

    let bug: Bug?
    /// What survives a crash: what the store synced.
    let disk: SyncOnRequestLogStore.Disk
    private let base: SyncOnRequestLogStore
    /// ``Bug/compactionUndoneOnRestart``: the index compacted through, held in memory only.
    private let compactedThrough = Mutex<UInt64?>(nil)
    /// ``Bug/losesTheVoteOnRestart``: whether the HardState read has lost its vote.
    private let voteForgotten: Mutex<Bool>

    /// Opens the log from what `disk` holds (empty for a new disk).
    init(bug: Bug?, disk: SyncOnRequestLogStore.Disk = SyncOnRequestLogStore.Disk()) {
        self.bug = bug
        self.disk = disk
        let restarted = disk.synced.withLock { $0 != nil }
        base = SyncOnRequestLogStore(disk: disk)
        voteForgotten = Mutex(bug == .losesTheVoteOnRestart && restarted)
    }

    /// A new store over this one's disk: after ``close()`` a restart, without it a crash.
    func openedAgain() -> BrokenLogStore {
        BrokenLogStore(bug: bug, disk: disk)
    }

    /// Makes what was written so far durable, unless the bug is never syncing.
    private func persist() throws(StorageError) {
        if bug != .neverSyncs { try base.sync() }
    }

    private var lazyBoundary: UInt64? { compactedThrough.withLock { $0 } }

    // MARK: Reads

    func firstIndex() throws(StorageError) -> UInt64 {
        let first = try base.firstIndex()
        guard let through = lazyBoundary else { return first }
        return max(first, through + 1)
    }

    func lastIndex() throws(StorageError) -> UInt64 { try base.lastIndex() }

    func term(at index: UInt64) throws(StorageError) -> UInt64 {
        if let through = lazyBoundary, index < through { throw .compacted() }
        let term: UInt64
        do {
            term = try base.term(at: index)
        } catch where error.code == .compacted && bug == .termBelowBoundaryUnavailable {
            throw .unavailable()
        }
        if bug == .compactionLosesTheBoundaryTerm, index + 1 == (try base.firstIndex()), index != (try base.snapshotMarker()).index {
            return 0
        }
        return term
    }

    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        if let through = lazyBoundary {
            guard range.lowerBound > through else { throw .compacted() }
            let last = try base.lastIndex()
            guard range.upperBound <= last + 1, last > through else { throw .unavailable() }
        }
        switch bug {
        case .ignoresMaxBytes:
            return try base.entries(in: range, maxBytes: .max)
        case .returnsNothingUnderASmallLimit:
            let entries = try base.entries(in: range, maxBytes: maxBytes)
            if let first = entries.first, UInt64(first.encodedSize) > maxBytes { return [] }
            return entries
        default:
            return try base.entries(in: range, maxBytes: maxBytes)
        }
    }

    func hardState() throws(StorageError) -> HardState {
        let stored = try base.hardState()
        let forgotten = bug == .losesTheVote || voteForgotten.withLock { $0 }
        return forgotten ? HardState(term: stored.term, vote: 0, commit: stored.commit) : stored
    }

    func snapshotMarker() throws(StorageError) -> SnapshotMarker { try base.snapshotMarker() }
    func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] { try base.snapshotMarkers() }

    // MARK: Writes

    func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        // Entries at or below the in-memory boundary are dropped, as at any boundary.
        let batch = lazyBoundary.map { through in Array(entries.drop { $0.index <= through }) } ?? entries
        switch bug {
        case .dropsHardStateWithoutEntries where entries.isEmpty:
            try base.save(hardState: .empty, entries: [])
        case .truncatesOnlyTheOverlap:
            let after = try entriesAfter(batch)
            try base.save(hardState: hardState, entries: batch)
            if !after.isEmpty { try base.save(hardState: .empty, entries: after) }
        default:
            try base.save(hardState: hardState, entries: batch)
        }
        if !hardState.isEmpty { voteForgotten.withLock { $0 = false } }
        if bug == .hardStateSavedWithoutSync && entries.isEmpty { return }
        try persist()
    }

    /// The entries the log holds after the last one of `batch`, when `batch` overlaps them.
    private func entriesAfter(_ batch: [Entry]) throws(StorageError) -> [Entry] {
        guard let lastNew = batch.last?.index else { return [] }
        let first = try base.firstIndex()
        let last = try base.lastIndex()
        guard lastNew >= first, lastNew < last else { return [] }
        return try base.entries(in: (lastNew + 1)..<(last + 1))
    }

    func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        var kept: [Entry] = []
        if bug == .applySnapshotKeepsLaterEntries {
            let first = try base.firstIndex()
            let last = try base.lastIndex()
            if metadata.index + 1 >= first, metadata.index < last {
                kept = try base.entries(in: (metadata.index + 1)..<(last + 1))
            }
        }
        try base.applySnapshot(metadata)
        compactedThrough.withLock { $0 = nil }
        if !kept.isEmpty { try base.save(hardState: .empty, entries: kept) }
        try persist()
    }

    func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        if let through = lazyBoundary {
            let marker = try base.snapshotMarker()
            if through > metadata.index, metadata.index > marker.index { throw .compacted() }
        }
        try base.recordSnapshot(metadata)
        try persist()
    }

    func compact(through index: UInt64) throws(StorageError) {
        let first = try firstIndex()
        let last = try base.lastIndex()
        guard index >= first else { throw .compacted() }
        guard index <= last else { throw .unavailable("compact \(index) is out of bound lastindex(\(last))") }
        switch bug {
        case .compactionKeepsTheEntry:
            if index > first { try base.compact(through: index - 1) }
        case .compactionDropsTheNextEntry:
            try base.compact(through: min(index + 1, last))
        case .compactionUndoneOnRestart:
            compactedThrough.withLock { $0 = index }
        default:
            try base.compact(through: index)
        }
        try persist()
    }

    func sync() throws(StorageError) { try base.sync() }
    func resume(from marker: SnapshotMarker) throws(StorageError) { try base.resume(from: marker) }
    func close() throws(StorageError) { try base.close() }
}
