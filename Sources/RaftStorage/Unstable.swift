/// The part of the raft log not yet acknowledged as persisted: entries and possibly a snapshot
/// (raft's `unstable`).
///
/// `entries[i]` is at log index `offset + i`. `offset` may be below the stable log's last index:
/// the next save then replaces the stable tail.
///
/// With asynchronous storage writes the unstable part also tracks what has been handed to
/// storage and not yet acknowledged (raft's `offsetInProgress` and `snapshotInProgress`): the
/// entries before ``inFlightEnd`` and, when ``isSnapshotInFlight``, the snapshot.
/// ``beginWrite()`` hands out only what is not yet in flight and marks it in flight;
/// ``stable(to:term:)`` and ``stableSnapshot(at:term:)`` take the acknowledgements and return
/// why a stale one changed nothing (``Acknowledgement``). Everything stays readable (``term(at:)``,
/// ``entries(in:)``) until it is acknowledged. The synchronous flow (read ``entries``, save them,
/// acknowledge the last one) needs none of the in-flight calls.
///
/// Invariant: `offset <= inFlightEnd <= offset + entries.count`.
public struct Unstable: Sendable, Hashable {
    /// A snapshot received from the leader and not yet acknowledged as saved.
    public internal(set) var snapshot: Snapshot?
    /// The entries not yet acknowledged as persisted, from ``offset``.
    public internal(set) var entries: [Entry]
    /// The log index of `entries[0]` (or of the next entry when there are none).
    public internal(set) var offset: UInt64
    /// The index after the last entry handed to storage and not yet acknowledged (raft's
    /// `offsetInProgress`): `entries` before it are in flight; ``offset`` when none are.
    public internal(set) var inFlightEnd: UInt64
    /// Whether ``snapshot`` has been handed to storage and not yet acknowledged (raft's
    /// `snapshotInProgress`).
    public internal(set) var isSnapshotInFlight: Bool

    /// Unstable state; empty, starting at `offset`, with nothing in flight by default.
    ///
    /// - Parameters:
    ///   - snapshot: an incoming snapshot not yet persisted, if any.
    ///   - entries: the entries not yet persisted, from `offset` on.
    ///   - offset: the index of the first of `entries` (the index after the stable log).
    ///   - inFlightEnd: the index after the last entry already handed to storage; `nil` for
    ///     none. It is kept within `offset...offset + entries.count`.
    ///   - isSnapshotInFlight: whether `snapshot` was already handed to storage; ignored
    ///     without a snapshot.
    public init(snapshot: Snapshot? = nil, entries: [Entry] = [], offset: UInt64, inFlightEnd: UInt64? = nil, isSnapshotInFlight: Bool = false) {
        self.snapshot = snapshot
        self.entries = entries
        self.offset = offset
        self.inFlightEnd = min(max(inFlightEnd ?? offset, offset), offset + UInt64(entries.count))
        self.isSnapshotInFlight = snapshot != nil && isSnapshotInFlight
    }

    // MARK: - Indexes and terms

    /// The first index of the log, known only while a snapshot is pending: the one after it
    /// (raft's `maybeFirstIndex`).
    public var firstIndex: UInt64? {
        snapshot.map { $0.metadata.index + 1 }
    }

    /// The last index of the log, known when there are unstable entries or a pending snapshot
    /// (raft's `maybeLastIndex`).
    public var lastIndex: UInt64? {
        if !entries.isEmpty { return offset + UInt64(entries.count) - 1 }
        return snapshot?.metadata.index
    }

    /// The index after the last unstable entry.
    var endIndex: UInt64 { offset + UInt64(entries.count) }

    /// The term at `index`, when the unstable part knows it: an unstable entry's, or the
    /// pending snapshot's at its index (raft's `maybeTerm`).
    public func term(at index: UInt64) -> UInt64? {
        if index < offset {
            guard let snapshot, snapshot.metadata.index == index else { return nil }
            return snapshot.metadata.term
        }
        guard index < endIndex else { return nil }
        return entries[Int(index - offset)].term
    }

    // MARK: - Changes

    /// Appends `newEntries`, replacing any unstable entries at or after the first one's index
    /// (raft's `truncateAndAppend`). `newEntries` must be contiguous.
    ///
    /// In-flight tracking follows the replacement: entries that were in flight and are replaced
    /// are no longer in flight (their acknowledgement will not match by term), so the new
    /// entries at those indexes are handed out by the next ``beginWrite()``.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when the first new entry would leave
    ///   a gap after the last index (`offset + entries.count`); nothing changes then.
    public mutating func append(_ newEntries: [Entry]) throws(StorageError) {
        guard let first = newEntries.first?.index else { return }
        guard first <= endIndex else {
            throw StorageError(
                .invariantViolation, "first appended index (\(first)) must not pass lastIndex + 1 (\(endIndex)): the log would have a gap")
        }
        if first == endIndex {
            entries.append(contentsOf: newEntries)
        } else if first <= offset {
            // Replaces the whole unstable part; the stable tail from `first` on is replaced when saved.
            offset = first
            entries = newEntries
            inFlightEnd = offset
        } else {
            entries.removeSubrange(Int(first - offset)...)
            entries.append(contentsOf: newEntries)
            inFlightEnd = min(inFlightEnd, first)
        }
    }

    /// Replaces everything with a snapshot received from the leader; nothing is in flight
    /// afterwards.
    public mutating func restore(_ snapshot: Snapshot) {
        offset = snapshot.metadata.index + 1
        inFlightEnd = offset
        entries = []
        self.snapshot = snapshot
        isSnapshotInFlight = false
    }

    // MARK: - Reading

    /// The unstable entries in `range`, which must lie within them (raft's `slice`).
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when `range` reaches outside
    ///   `offset..<offset + entries.count`.
    public func entries(in range: Range<UInt64>) throws(StorageError) -> ArraySlice<Entry> {
        guard range.lowerBound >= offset, range.upperBound <= endIndex else {
            throw StorageError(
                .invariantViolation,
                "unstable entries [\(range.lowerBound), \(range.upperBound)) must lie within [\(offset), \(endIndex))")
        }
        return entries[Int(range.lowerBound - offset)..<Int(range.upperBound - offset)]
    }
}
