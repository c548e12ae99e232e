import RaftStorage

/// The in-memory view of the log a ``WALLogStore`` answers raft's reads from: the boundary
/// (index and term of the last entry compacted or covered by a snapshot) and the entries after
/// it, with `MemoryStorage`'s rules.
///
/// Every entry is held with its payload today. The type keeps the storage of entries private
/// so a later version can keep only terms and file positions for sealed segments and read
/// payloads back on demand, without changing its callers.
struct EntryIndex {
    private(set) var boundaryIndex: UInt64
    private(set) var boundaryTerm: UInt64
    private var entries: [Entry]

    init(boundaryIndex: UInt64, boundaryTerm: UInt64, entries: [Entry] = []) {
        self.boundaryIndex = boundaryIndex
        self.boundaryTerm = boundaryTerm
        self.entries = entries
    }

    var firstIndex: UInt64 { boundaryIndex + 1 }
    var lastIndex: UInt64 { boundaryIndex + UInt64(entries.count) }
    var isEmpty: Bool { entries.isEmpty }

    /// `MemoryStorage.Term`.
    func term(at index: UInt64) throws(StorageError) -> UInt64 {
        guard index >= boundaryIndex else { throw .compacted() }
        guard index <= lastIndex else { throw .unavailable() }
        return index == boundaryIndex ? boundaryTerm : entries[Int(index - boundaryIndex - 1)].term
    }

    /// The term at `index` when the index holds it (the boundary or an entry), else `nil`.
    func termIfPresent(at index: UInt64) -> UInt64? {
        guard index >= boundaryIndex, index <= lastIndex else { return nil }
        return index == boundaryIndex ? boundaryTerm : entries[Int(index - boundaryIndex - 1)].term
    }

    /// `MemoryStorage.Entries`.
    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        guard range.lowerBound > boundaryIndex else { throw .compacted() }
        guard range.upperBound <= lastIndex + 1 else {
            throw .unavailable("entries' hi(\(range.upperBound)) is out of bound lastindex(\(lastIndex))")
        }
        guard !entries.isEmpty else { throw .unavailable() }
        let slice = entries[Int(range.lowerBound - boundaryIndex - 1)..<Int(range.upperBound - boundaryIndex - 1)]
        return Array(slice.prefix(limitedCount(slice, maxBytes: maxBytes)))
    }

    /// Checks a batch as `MemoryStorage.Append` would take it, and returns the part to keep:
    /// entries at or below the boundary are dropped.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/invalidArgument`` for a batch that is not contiguous or
    ///   would leave a gap after the last index.
    func acceptedPart(of batch: [Entry]) throws(StorageError) -> ArraySlice<Entry> {
        guard let firstNew = batch.first?.index else { return [] }
        for (position, entry) in batch.enumerated() where entry.index != firstNew &+ UInt64(position) {
            throw StorageError(.invalidArgument, "entries to append are not contiguous: index \(entry.index) at position \(position) after \(firstNew)")
        }
        let lastNew = firstNew + UInt64(batch.count) - 1
        guard lastNew > boundaryIndex else { return [] }
        let kept = firstNew <= boundaryIndex ? batch[Int(boundaryIndex + 1 - firstNew)...] : batch[...]
        guard kept.first!.index <= lastIndex + 1 else {
            throw StorageError(.invalidArgument, "missing log entry [last: \(lastIndex), append at: \(kept.first!.index)]")
        }
        return kept
    }

    /// Appends an accepted batch, replacing any overlapping tail (raft paper Fig. 7).
    mutating func append(_ kept: ArraySlice<Entry>) {
        guard let first = kept.first?.index else { return }
        let position = Int(first - boundaryIndex - 1)
        if position < entries.count { entries.removeSubrange(position...) }
        entries.append(contentsOf: kept)
    }

    /// Drops every entry and starts after (`index`, `term`).
    mutating func reset(boundaryIndex index: UInt64, term: UInt64) {
        boundaryIndex = index
        boundaryTerm = term
        entries = []
    }

    /// Moves the boundary to `index` (which must hold an entry), dropping the entries up to it.
    mutating func compact(through index: UInt64) {
        let count = Int(index - boundaryIndex)
        boundaryTerm = entries[count - 1].term
        boundaryIndex = index
        entries.removeFirst(count)
    }
}
