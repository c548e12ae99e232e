// etcd raft's `MemoryStorage` rules, written once for every log store of this package: where
// the log starts and ends around its boundary (the last compacted or snapshotted entry), which
// reads are compacted or unavailable and how a read is cut to a size limit, what an append
// keeps, replaces and refuses, compaction, installing and recording snapshots, each with
// etcd's error messages. Where `MemoryStorage` panics, these throw and change nothing.
//
// A store chooses only what it keeps for each entry, its `LogSlots`: `MemoryLogStore` keeps
// whole entries (`EntrySlots`), the WAL's index keeps terms and file positions.

/// What a ``LogWindow`` keeps for the entries after its boundary: one slot per entry, indexes
/// without gaps from the boundary's index plus one.
///
/// The window checks every index it passes against its bounds first: an implementation may
/// assume the preconditions below and need not check them again.
package protocol LogSlots {
    /// Slots for a log whose boundary is at `boundary`: none yet, the next is `boundary + 1`.
    init(after boundary: UInt64)

    /// How many entries the slots hold.
    var count: UInt64 { get }

    /// The term of the entry at `index`, one the slots hold.
    func term(at index: UInt64) -> UInt64

    /// Drops every entry after `index` (at least the boundary's index, at most the last
    /// index); the next entry added is `index + 1`.
    mutating func truncate(after index: UInt64)

    /// Drops every entry up to `index` (one the slots hold): the boundary moves to `index`.
    mutating func drop(through index: UInt64)
}

/// A raft log as etcd's `MemoryStorage` shapes it: a boundary (index and term of the last entry
/// compacted or covered by a snapshot) and the entries after it, kept as `Slots`.
///
/// The one implementation of the log rules the ``LogStore`` requirements list (reads,
/// appends, compaction, snapshots), shared by the package's log stores so each rule and each
/// error message exists once. Not thread-safe: a store keeps it behind its lock.
package struct LogWindow<Slots: LogSlots> {
    /// The index of the last entry compacted or covered by a snapshot.
    package private(set) var boundaryIndex: UInt64
    /// The term at ``boundaryIndex``.
    package private(set) var boundaryTerm: UInt64
    /// The entries after the boundary.
    package private(set) var slots: Slots

    /// An empty log after (`boundaryIndex`, `boundaryTerm`); (0, 0) for a new log.
    package init(boundaryIndex: UInt64 = 0, boundaryTerm: UInt64 = 0) {
        self.boundaryIndex = boundaryIndex
        self.boundaryTerm = boundaryTerm
        self.slots = Slots(after: boundaryIndex)
    }

    /// `MemoryStorage.FirstIndex`: the boundary's index plus one.
    package var firstIndex: UInt64 { boundaryIndex + 1 }

    /// `MemoryStorage.LastIndex`: the last entry's index, or the boundary's without entries.
    package var lastIndex: UInt64 { boundaryIndex + slots.count }

    /// Whether the log holds no entry after its boundary.
    package var isEmpty: Bool { slots.count == 0 }

    // MARK: - Reads

    /// `MemoryStorage.Term`: the term at `index`, from the boundary to the last index.
    ///
    /// - Throws: ``StorageError/Code/compacted`` below the boundary,
    ///   ``StorageError/Code/unavailable`` past the last index.
    package func term(at index: UInt64) throws(StorageError) -> UInt64 {
        guard index >= boundaryIndex else { throw .compacted() }
        guard let term = termIfPresent(at: index) else { throw .unavailable() }
        return term
    }

    /// The term at `index` when the log holds it (the boundary or an entry), else `nil`.
    package func termIfPresent(at index: UInt64) -> UInt64? {
        guard index >= boundaryIndex, index <= lastIndex else { return nil }
        return index == boundaryIndex ? boundaryTerm : slots.term(at: index)
    }

    /// `MemoryStorage.Entries`: checks `range` against the log, then lets `read` put the
    /// entries of the range, in order, on a page cut to `maxBytes` (``EntryPage``); `read` is
    /// not called for an empty range.
    ///
    /// - Throws: ``StorageError/Code/compacted`` when the range starts at or below the
    ///   boundary; ``StorageError/Code/unavailable`` when it ends past the last index plus one
    ///   or the log holds no entry; what `read` throws.
    package func entries(
        in range: Range<UInt64>, maxBytes: UInt64,
        _ read: (Slots, Range<UInt64>, inout EntryPage) throws(StorageError) -> Void
    ) throws(StorageError) -> [Entry] {
        guard range.lowerBound > boundaryIndex else { throw .compacted() }
        guard range.upperBound <= lastIndex + 1 else {
            throw .unavailable("entries' hi(\(range.upperBound)) is out of bound lastindex(\(lastIndex))")
        }
        guard !isEmpty else { throw .unavailable() }
        var page = EntryPage(maxBytes: maxBytes)
        if !range.isEmpty { try read(slots, range, &page) }
        return page.entries
    }

    // MARK: - Appends

    /// Checks a save of `hardState` and `batch` as ``LogStore/save(hardState:entries:)``
    /// takes it, before anything is written, and returns the part of the batch to append:
    /// `MemoryStorage.Append` drops the entries at or below the boundary.
    ///
    /// - Parameter stored: the HardState the store holds now.
    /// - Throws: ``StorageError/Code/invalidArgument`` for a batch that is not contiguous or
    ///   would leave a gap after the last index, or a HardState that breaks
    ///   ``HardState/validate(replacing:lastIndexAfterSave:)``.
    package func admit(_ batch: ArraySlice<Entry>, hardState: HardState, replacing stored: HardState) throws(StorageError) -> ArraySlice<Entry> {
        let kept = try acceptedPart(of: batch)
        // The last index read in place: `kept.last` would copy the entry (its data retained).
        try hardState.validate(replacing: stored, lastIndexAfterSave: kept.isEmpty ? lastIndex : kept[kept.endIndex - 1].index)
        return kept
    }

    /// The part of ``admit(_:hardState:replacing:)``'s check that concerns the entries, for a
    /// batch given by its first index and its size, whose indexes run on one by one and stop
    /// short of the largest `UInt64` (a store reading back what it wrote knows this without
    /// holding the entries): the indexes to append, empty when none. Check the HardState next
    /// (``HardState/validate(replacing:lastIndexAfterSave:)``), as that call does.
    ///
    /// - Throws: ``StorageError/Code/invalidArgument`` for a batch that would leave a gap
    ///   after the last index.
    package func acceptedRun(first: UInt64, count: UInt64) throws(StorageError) -> Range<UInt64> {
        guard count > 0, let kept = try acceptedRange(first: first, last: first + count - 1) else { return lastIndex + 1..<lastIndex + 1 }
        return kept.lowerBound..<(kept.upperBound + 1)
    }

    /// ``acceptedRun(first:count:)`` (same contract), with the window's last index. A run right
    /// after the last index, what almost every append is, is kept whole without the general
    /// rule, which keeps it whole too: from a module the window's generic code is not
    /// specialised for, each call into it costs a few dozen instructions, and the multi-group
    /// log makes one per group of every batch.
    package mutating func acceptedRunInPlace(first: UInt64, count: UInt64) throws(StorageError) -> (kept: Range<UInt64>, lastIndex: UInt64) {
        let last = lastIndex
        if count > 0 && first == last &+ 1 { return (first..<(first + count), last) }
        return (try acceptedRun(first: first, count: count), last)
    }

    /// The part of a batch `MemoryStorage.Append` keeps: entries at or below the boundary are
    /// dropped; a batch that would leave a gap after the last index is refused.
    private func acceptedPart(of batch: ArraySlice<Entry>) throws(StorageError) -> ArraySlice<Entry> {
        guard let (firstNew, lastNew) = try batch.contiguousIndexRange(), let kept = try acceptedRange(first: firstNew, last: lastNew) else {
            return []
        }
        return batch[(batch.startIndex + Int(kept.lowerBound - firstNew))...]
    }

    /// The indexes of the batch `first ... last` that `MemoryStorage.Append` keeps; `nil` when
    /// it lies at or below the boundary.
    private func acceptedRange(first: UInt64, last: UInt64) throws(StorageError) -> ClosedRange<UInt64>? {
        guard last > boundaryIndex else { return nil }
        let keptFirst = max(first, boundaryIndex + 1)
        guard keptFirst <= lastIndex + 1 else {
            throw StorageError(.invalidArgument, "missing log entry [last: \(lastIndex), append at: \(keptFirst)]")
        }
        return keptFirst...last
    }

    /// `MemoryStorage.Append` of entries starting at `first`: drops every entry from `first` on
    /// (the raft paper's Fig. 7), then `add` adds the new ones, `first` and on, to the slots.
    ///
    /// `first` is above the boundary and at most the last index plus one (what ``admit(_:hardState:replacing:)``
    /// returns satisfies it).
    package mutating func replace<Failure: Error>(from first: UInt64, _ add: (inout Slots) throws(Failure) -> Void) throws(Failure) {
        slots.truncate(after: first - 1)
        try add(&slots)
    }

    // MARK: - Compaction and snapshots

    /// `MemoryStorage.Compact`: moves the boundary to `index`, dropping the entries up to it.
    ///
    /// - Throws: ``StorageError/Code/compacted`` at or below the boundary,
    ///   ``StorageError/Code/unavailable`` past the last index; the log is then unchanged.
    package mutating func compact(through index: UInt64) throws(StorageError) {
        guard index > boundaryIndex else { throw .compacted() }
        guard index <= lastIndex else {
            throw .unavailable("compact \(index) is out of bound lastindex(\(lastIndex))")
        }
        boundaryTerm = slots.term(at: index)
        slots.drop(through: index)
        boundaryIndex = index
    }

    /// `MemoryStorage.ApplySnapshot`'s change to the log: drops every entry and starts after
    /// (`index`, `term`). Check the snapshot with ``requireNewer(_:than:)`` first.
    package mutating func reset(boundaryIndex index: UInt64, term: UInt64) {
        boundaryIndex = index
        boundaryTerm = term
        slots = Slots(after: index)
    }

    /// The rule both snapshot calls start with (`MemoryStorage.ApplySnapshot` and
    /// `CreateSnapshot`): a snapshot at `index` must be newer than the store's, at `current`.
    ///
    /// - Throws: ``StorageError/Code/snapshotOutOfDate`` otherwise.
    package static func requireNewer(_ index: UInt64, than current: UInt64) throws(StorageError) {
        guard index > current else { throw .snapshotOutOfDate() }
    }

    /// The term of the entry a snapshot at `index` covers (`MemoryStorage.CreateSnapshot`'s
    /// bounds).
    ///
    /// - Throws: ``StorageError/Code/unavailable`` past the last index,
    ///   ``StorageError/Code/compacted`` below the boundary.
    package func snapshotTerm(at index: UInt64) throws(StorageError) -> UInt64 {
        guard index <= lastIndex else { throw .unavailable("snapshot \(index) is out of bound lastindex(\(lastIndex))") }
        return try term(at: index)
    }

    /// Checks a snapshot taken locally before its marker is recorded
    /// (``LogStore/recordSnapshot(_:)``): the log holds its entry, `index` with `term`, and it
    /// is newer than the store's snapshot, at `current`.
    ///
    /// - Throws: as ``snapshotTerm(at:)``; ``StorageError/Code/invalidArgument`` when the log's
    ///   term at `index` differs; ``StorageError/Code/snapshotOutOfDate`` when it is not newer.
    package func checkRecordable(_ index: UInt64, term: UInt64, newerThan current: UInt64) throws(StorageError) {
        let held = try snapshotTerm(at: index)
        guard held == term else {
            throw StorageError(.invalidArgument, "snapshot term \(term) differs from the log's term \(held) at index \(index)")
        }
        try Self.requireNewer(index, than: current)
    }
}

extension LogWindow: Sendable where Slots: Sendable {}

extension LogWindow where Slots == EntrySlots {
    /// Appends entries that ``admit(_:hardState:replacing:)`` returned, replacing any from the
    /// first one's index on.
    package mutating func append(_ kept: ArraySlice<Entry>) {
        guard let first = kept.first?.index else { return }
        replace(from: first) { $0.append(contentsOf: kept) }
    }
}

/// Whole entries, with their data, from ``first`` on without gaps: the slots of a log held in
/// memory (`MemoryLogStore`), and of any run of entries a store keeps whole.
package struct EntrySlots: LogSlots, Sendable {
    /// The index the first entry has (or will have).
    package private(set) var first: UInt64
    /// The entries, `first` and on.
    package private(set) var entries: [Entry] = []

    package init(after boundary: UInt64) {
        first = boundary + 1
    }

    package var count: UInt64 { UInt64(entries.count) }

    /// The last entry's index; `first - 1` without entries.
    package var last: UInt64 { first + count - 1 }

    package func term(at index: UInt64) -> UInt64 {
        entries[Int(index - first)].term
    }

    /// The entries in `range`, which lies within ``first`` ... ``last``.
    package subscript(range: Range<UInt64>) -> ArraySlice<Entry> {
        entries[Int(range.lowerBound - first)..<Int(range.upperBound - first)]
    }

    /// Drops every entry after `index`; below ``first`` that is every entry, and the next one
    /// is `index + 1`.
    package mutating func truncate(after index: UInt64) {
        if index < first {
            entries.removeAll()
            first = index + 1
        } else if index < last {
            entries.removeSubrange(Int(index + 1 - first)...)
        }
    }

    /// Drops every entry up to `index`; the next one kept, or added, is `index + 1`.
    package mutating func drop(through index: UInt64) {
        guard index >= first else { return }
        if index >= last {
            entries.removeAll()
        } else {
            entries.removeFirst(Int(index + 1 - first))
        }
        first = index + 1
    }

    /// Adds entries after the last one (their indexes follow it without gaps).
    package mutating func append(contentsOf new: some Sequence<Entry>) {
        entries.append(contentsOf: new)
    }

    /// Adds one entry after the last one.
    package mutating func append(_ entry: consuming Entry) {
        entries.append(entry)
    }
}

/// The entries one read returns, cut to a size as raft's `limitSize` cuts them: the longest
/// run whose total ``Entry/encodedSize`` is at most `maxBytes`, but always at least the first
/// entry. Readers add entries in order until it is full, so nothing past the limit is loaded.
package struct EntryPage {
    /// The size limit; `.max` for none.
    package var maxBytes: UInt64 { budget.maxBytes }
    /// The entries taken so far.
    package private(set) var entries: [Entry] = []
    /// raft's size rule, applied to the entries taken.
    private var budget: EntrySizeBudget
    /// Set once an entry did not fit: every later one is refused too.
    package private(set) var isFull = false

    package init(maxBytes: UInt64) {
        self.budget = EntrySizeBudget(maxBytes: maxBytes)
    }

    /// Takes `entry` when it fits (the first one always does); returns `false`, and takes
    /// nothing from then on, once one does not.
    @discardableResult
    package mutating func add(_ entry: Entry) -> Bool {
        guard !isFull else { return false }
        guard budget.take(entry) else {
            isFull = true
            return false
        }
        entries.append(entry)
        return true
    }

    /// Takes the entries of `run` in order while they fit; returns `false` once one does not.
    @discardableResult
    package mutating func add(contentsOf run: some Collection<Entry>) -> Bool {
        guard !isFull else { return false }
        guard maxBytes != .max else {
            entries.append(contentsOf: run)
            return true
        }
        for entry in run {
            guard add(entry) else { return false }
        }
        return true
    }
}

// The one check of a batch before appending it, made by `LogWindow` for every log store.
extension Collection where Element == Entry {
    /// The first and last index of a batch whose indexes run on one by one; `nil` for an empty
    /// batch.
    ///
    /// - Throws: ``StorageError/Code/invalidArgument`` when the indexes are not consecutive, or
    ///   when the batch would reach the largest `UInt64` (no index could follow it, so no
    ///   store's arithmetic may be asked to).
    @inlinable
    package func contiguousIndexRange() throws(StorageError) -> (first: UInt64, last: UInt64)? {
        guard !isEmpty else { return nil }
        // Indexes read in place: iterating the entries copied each one (its data retained).
        let first = self[startIndex].index
        var expected = first
        var position = 0
        var at = startIndex
        while at != endIndex {
            let index = self[at].index
            guard index == expected, expected < .max else {
                throw StorageError(
                    .invalidArgument,
                    index == .max
                        ? "entry index \(index) leaves no index after it"
                        : "entries to append are not contiguous: index \(index) at position \(position) after \(first)")
            }
            expected += 1
            position += 1
            formIndex(after: &at)
        }
        return (first, expected - 1)
    }
}
