/// Handing unstable entries and the pending snapshot to storage, and taking the storage's
/// acknowledgements (raft's asynchronous storage writes).
///
/// The asynchronous flow:
///
/// ```swift
/// let write = unstable.beginWrite()          // marks it in flight: not handed out again
/// // ... storage saves write.snapshot, then write.entries, on another thread ...
/// if let snapshot = write.snapshot {
///     unstable.stableSnapshot(at: snapshot.metadata.index, term: snapshot.metadata.term)
/// }
/// if let last = write.entries.last {
///     unstable.stable(to: last.index, term: last.term)   // refused if a newer leader replaced it
/// }
/// ```
///
/// The synchronous flow reads ``Unstable/entries`` (or ``Unstable/entriesToPersist``), saves
/// them and acknowledges the last one; it never needs ``Unstable/markInFlight()``.
extension Unstable {
    /// What one write hands to storage: the pending snapshot, when not already in flight, then
    /// the entries not already in flight.
    public struct Write: Hashable, Sendable {
        /// The snapshot to save before the entries; `nil` when none is pending or it is
        /// already in flight.
        public var snapshot: Snapshot?
        /// The entries to save, in index order.
        public var entries: [Entry]

        /// A write of `snapshot` (if any) followed by `entries`.
        public init(snapshot: Snapshot? = nil, entries: [Entry] = []) {
            self.snapshot = snapshot
            self.entries = entries
        }

        /// Whether there is nothing to save.
        public var isEmpty: Bool { snapshot == nil && entries.isEmpty }
    }

    /// What an acknowledgement of persisted entries or a persisted snapshot did.
    public enum Acknowledgement: Hashable, Sendable, CustomStringConvertible {
        /// The acknowledged entries (or snapshot) left the unstable part: reads now go to
        /// storage.
        case accepted
        /// The acknowledgement was stale and changed nothing; the reason says why.
        case refused(Refusal)

        /// Whether the acknowledgement was accepted.
        public var isAccepted: Bool { self == .accepted }

        /// Why the acknowledgement was refused; `nil` when it was accepted.
        public var refusal: Refusal? {
            if case .refused(let refusal) = self { return refusal }
            return nil
        }

        public var description: String {
            switch self {
            case .accepted: "accepted"
            case .refused(let refusal): "refused: \(refusal)"
            }
        }
    }

    /// Why an acknowledgement changed nothing. Each is a normal outcome of asynchronous writes
    /// (a write finishing after the log moved on), not an error.
    public enum Refusal: Hashable, Sendable, CustomStringConvertible {
        /// Nothing unstable is at the index: it is past the last unstable entry (the entries
        /// there were cut off by a newer leader, or never existed), or, for a snapshot, past
        /// the pending snapshot.
        case unknownIndex(UInt64)
        /// The index is before the unstable entries: it was already acknowledged.
        case alreadyStable(UInt64)
        /// The entry (or pending snapshot) at the index has another term: it was replaced,
        /// typically by a newer leader's entries, after the acknowledged write began.
        case termMismatch(index: UInt64, acknowledged: UInt64, current: UInt64)
        /// The index is the pending snapshot's, not an unstable entry's: acknowledge the
        /// snapshot with ``Unstable/stableSnapshot(at:term:)``.
        case pendingSnapshotIndex(UInt64)
        /// A newer snapshot replaced the acknowledged one while it was being written.
        case snapshotNewer(acknowledged: SnapshotMarker, pending: SnapshotMarker)
        /// No snapshot is pending: it was already acknowledged, or never received.
        case noPendingSnapshot(UInt64)

        public var description: String {
            switch self {
            case .unknownIndex(let index):
                "no unstable entry or snapshot at index \(index)"
            case .alreadyStable(let index):
                "index \(index) is already stable"
            case .termMismatch(let index, let acknowledged, let current):
                "the entry at index \(index) has term \(current), not the acknowledged \(acknowledged): it was replaced after the write began"
            case .pendingSnapshotIndex(let index):
                "index \(index) is the pending snapshot's, not an unstable entry's"
            case .snapshotNewer(let acknowledged, let pending):
                "the pending snapshot \(pending) is newer than the acknowledged \(acknowledged)"
            case .noPendingSnapshot(let index):
                "no snapshot is pending (acknowledged index \(index))"
            }
        }
    }

    // MARK: - Handing out

    /// How many leading entries are in flight.
    private var inFlightCount: Int { Int(inFlightEnd - offset) }

    /// The unstable entries not yet handed to storage (raft's `nextEntries`).
    public var entriesToPersist: [Entry] {
        let inFlight = inFlightCount
        return inFlight == 0 ? entries : Array(entries[inFlight...])
    }

    /// Whether there are unstable entries not yet handed to storage.
    public var hasEntriesToPersist: Bool { inFlightCount < entries.count }

    /// The pending snapshot when it has not been handed to storage yet (raft's `nextSnapshot`).
    public var snapshotToPersist: Snapshot? {
        isSnapshotInFlight ? nil : snapshot
    }

    /// Marks every unstable entry and the pending snapshot as handed to storage (raft's
    /// `acceptInProgress`): ``entriesToPersist`` and ``snapshotToPersist`` stop returning them,
    /// while entries appended later are returned until the next call.
    public mutating func markInFlight() {
        inFlightEnd = endIndex
        if snapshot != nil { isSnapshotInFlight = true }
    }

    /// Returns what is not yet in flight, ``snapshotToPersist`` and ``entriesToPersist``, and
    /// marks it in flight (``markInFlight()``), so no later call hands it out again.
    public mutating func beginWrite() -> Write {
        let write = Write(snapshot: snapshotToPersist, entries: entriesToPersist)
        markInFlight()
        return write
    }

    // MARK: - Acknowledgements

    /// Takes storage's acknowledgement that the entries through `index`, whose last has `term`,
    /// are persisted (raft's `stableTo`): when the unstable entry at `index` still has `term`,
    /// the entries through it leave the unstable part.
    ///
    /// The entries need not have been marked in flight (the synchronous flow never does).
    /// A stale acknowledgement changes nothing and says why: the entry was replaced
    /// (``Refusal/termMismatch(index:acknowledged:current:)``), cut off
    /// (``Refusal/unknownIndex(_:)``), already acknowledged (``Refusal/alreadyStable(_:)``), or
    /// the index is the pending snapshot's (``Refusal/pendingSnapshotIndex(_:)``).
    @discardableResult
    public mutating func stable(to index: UInt64, term: UInt64) -> Acknowledgement {
        if index < offset {
            if let snapshot, snapshot.metadata.index == index {
                return .refused(.pendingSnapshotIndex(index))
            }
            return .refused(.alreadyStable(index))
        }
        guard index < endIndex else { return .refused(.unknownIndex(index)) }
        let current = entries[Int(index - offset)].term
        guard current == term else {
            return .refused(.termMismatch(index: index, acknowledged: term, current: current))
        }
        let persisted = Int(index + 1 - offset)
        let remaining = entries.count - persisted
        if remaining == 0 {
            entries = []
        } else if entries.capacity > 2 * remaining {
            // Give memory back when most of the buffer is persisted.
            entries = Array(entries[persisted...])
        } else {
            entries.removeFirst(persisted)
        }
        offset = index + 1
        inFlightEnd = max(inFlightEnd, offset)
        return .accepted
    }

    /// Takes storage's acknowledgement that the snapshot at (`index`, `term`) is persisted
    /// (raft's `stableSnapTo`, which matches the index only): when it is still the pending one,
    /// it is forgotten.
    ///
    /// A stale acknowledgement changes nothing and says why: a newer snapshot replaced it
    /// (``Refusal/snapshotNewer(acknowledged:pending:)``), the pending one has another term
    /// (``Refusal/termMismatch(index:acknowledged:current:)``), none is pending
    /// (``Refusal/noPendingSnapshot(_:)``), or the pending one is older
    /// (``Refusal/unknownIndex(_:)``).
    @discardableResult
    public mutating func stableSnapshot(at index: UInt64, term: UInt64) -> Acknowledgement {
        guard let pending = snapshot?.metadata else { return .refused(.noPendingSnapshot(index)) }
        if pending.index > index {
            return .refused(.snapshotNewer(acknowledged: SnapshotMarker(index: index, term: term), pending: pending.marker))
        }
        guard pending.index == index else { return .refused(.unknownIndex(index)) }
        guard pending.term == term else {
            return .refused(.termMismatch(index: index, acknowledged: term, current: pending.term))
        }
        snapshot = nil
        isSnapshotInFlight = false
        return .accepted
    }
}
