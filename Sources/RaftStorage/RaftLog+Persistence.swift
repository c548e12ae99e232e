/// Handing unstable entries and the pending snapshot to storage, and taking the storage's
/// acknowledgements: ``Unstable``'s in-flight tracking seen through the log (raft's
/// `nextUnstableEnts`, `acceptUnstable`, `stableTo`, `stableSnapTo`).
///
/// Nothing here reads storage: these are properties and non-throwing calls.
extension RaftLog {
    /// The unstable entries not yet handed to storage (raft's `nextUnstableEnts`).
    public var entriesToPersist: [Entry] { unstable.entriesToPersist }

    /// Whether there are unstable entries not yet handed to storage (raft's
    /// `hasNextUnstableEnts`).
    public var hasEntriesToPersist: Bool { unstable.hasEntriesToPersist }

    /// Whether there are unstable entries not yet acknowledged, in flight or not (raft's
    /// `hasNextOrInProgressUnstableEnts`).
    public var hasUnpersistedEntries: Bool { !unstable.entries.isEmpty }

    /// The pending snapshot when it has not been handed to storage yet (raft's
    /// `nextUnstableSnapshot`).
    public var snapshotToPersist: Snapshot? { unstable.snapshotToPersist }

    /// Whether a snapshot from the leader is pending, in flight or not (raft's
    /// `hasNextOrInProgressSnapshot`).
    public var hasPendingSnapshot: Bool { unstable.snapshot != nil }

    /// Marks the unstable entries and the pending snapshot as handed to storage (raft's
    /// `acceptUnstable`); see ``Unstable/markInFlight()``.
    public mutating func markInFlight() {
        unstable.markInFlight()
    }

    /// Returns the pending snapshot and the unstable entries not yet in flight, and marks them
    /// in flight so no later call hands them out again; see ``Unstable/beginWrite()``.
    public mutating func beginWrite() -> Unstable.Write {
        unstable.beginWrite()
    }

    /// Takes storage's acknowledgement that the entries through `index` (with `term` there)
    /// are persisted; a stale one changes nothing and says why. See
    /// ``Unstable/stable(to:term:)``.
    @discardableResult
    public mutating func stable(to index: UInt64, term: UInt64) -> Unstable.Acknowledgement {
        unstable.stable(to: index, term: term)
    }

    /// Takes storage's acknowledgement that the snapshot at (`index`, `term`) is persisted; a
    /// stale one changes nothing and says why. See ``Unstable/stableSnapshot(at:term:)``.
    @discardableResult
    public mutating func stableSnapshot(at index: UInt64, term: UInt64) -> Unstable.Acknowledgement {
        unstable.stableSnapshot(at: index, term: term)
    }
}
