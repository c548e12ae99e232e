/// The part of the raft log not yet persisted: entries and possibly a snapshot (raft's
/// `unstable`).
///
/// `entries[i]` is at log index `offset + i`. `offset` may be below the stable log's last index:
/// the next save then replaces the stable tail.
public struct Unstable: Sendable, Hashable {
    /// A snapshot received from the leader and not yet saved.
    public internal(set) var snapshot: Snapshot?
    /// The entries not yet persisted, from ``offset``.
    public internal(set) var entries: [Entry]
    /// The log index of `entries[0]` (or of the next entry when there are none).
    public internal(set) var offset: UInt64

    /// Unstable state; empty, starting at `offset`, by default.
    public init(snapshot: Snapshot? = nil, entries: [Entry] = [], offset: UInt64) {
        self.snapshot = snapshot
        self.entries = entries
        self.offset = offset
    }

    /// The first index, known only while an unstable snapshot is pending.
    public func maybeFirstIndex() -> UInt64? {
        snapshot.map { $0.metadata.index + 1 }
    }

    /// The last index, known when there are unstable entries or a pending snapshot.
    public func maybeLastIndex() -> UInt64? {
        if !entries.isEmpty { return offset + UInt64(entries.count) - 1 }
        return snapshot?.metadata.index
    }

    /// The term at `index`, when the unstable part knows it.
    public func maybeTerm(_ index: UInt64) -> UInt64? {
        if index < offset {
            guard let snapshot, snapshot.metadata.index == index else { return nil }
            return snapshot.metadata.term
        }
        guard let last = maybeLastIndex(), index <= last else { return nil }
        return entries[Int(index - offset)].term
    }

    /// Drops entries through `index` once they are saved, if the entry there still has `term`.
    ///
    /// When the term differs the entries were replaced while being written, and the newer ones
    /// must stay.
    public mutating func stable(to index: UInt64, term: UInt64) {
        guard let known = maybeTerm(index), known == term, index >= offset else { return }
        entries.removeFirst(Int(index + 1 - offset))
        offset = index + 1
        if entries.isEmpty {
            entries = []
        } else if entries.capacity > 2 * entries.count {
            // Give memory back when most of the buffer is already persisted.
            entries = Array(entries)
        }
    }

    /// Forgets the pending snapshot once it is saved, if it is still the one at `index`.
    public mutating func stableSnapshot(to index: UInt64) {
        if let snapshot, snapshot.metadata.index == index {
            self.snapshot = nil
        }
    }

    /// Replaces everything with a snapshot received from the leader.
    public mutating func restore(_ snapshot: Snapshot) {
        offset = snapshot.metadata.index + 1
        entries = []
        self.snapshot = snapshot
    }

    /// Appends `newEntries`, replacing any unstable entries at or after the first one's index.
    public mutating func truncateAndAppend(_ newEntries: [Entry]) {
        guard let first = newEntries.first?.index else { return }
        let end = offset + UInt64(entries.count)
        if first == end {
            entries.append(contentsOf: newEntries)
        } else if first <= offset {
            // Replaces the whole unstable part; the stable tail from `first` on is replaced when saved.
            offset = first
            entries = newEntries
        } else {
            entries = Array(entries[..<Int(first - offset)]) + newEntries
        }
    }

    /// The unstable entries in `lo..<hi`, which must lie within them.
    public func slice(_ lo: UInt64, _ hi: UInt64) throws(StorageError) -> ArraySlice<Entry> {
        let upper = offset + UInt64(entries.count)
        guard lo <= hi, lo >= offset, hi <= upper else {
            throw StorageError(.invariantViolation, "unstable.slice[\(lo),\(hi)) out of bound [\(offset),\(upper)]")
        }
        return entries[Int(lo - offset)..<Int(hi - offset)]
    }
}
