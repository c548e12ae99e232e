public import RaftStorage

/// Changes to many raft groups, written by ``LogEngine/write(_:sync:)`` as one record: made
/// durable by one fdatasync and recovered all or nothing.
///
/// Each group's part holds what one `Ready` of that group persists, in the order a
/// ``RaftStorage/LogStore`` applies it, whatever the order of the calls that built it:
///
/// 1. ``applySnapshot(_:to:)``: a snapshot received from the leader (drops every entry);
/// 2. entries (``append(_:to:)``, ``save(hardState:entries:for:)``), replacing any overlapping
///    tail, and the HardState (``setHardState(_:for:)``);
/// 3. ``recordSnapshot(_:for:)``: a snapshot taken locally;
/// 4. ``compact(_:through:)``.
///
/// Every part is checked with the rules of ``RaftStorage/LogStore`` before anything is written;
/// one invalid part refuses the whole batch.
///
/// ```swift
/// var batch = WriteBatch()
/// batch.save(hardState: HardState(term: 2, vote: 1, commit: 7), entries: newEntriesOf7, for: 7)
/// batch.append(newEntriesOf9, to: 9)
/// try await engine.writeDurably(batch)
/// ```
public struct WriteBatch: Sendable {
    /// The parts, by group, and the order groups were first named in (the order they are written).
    private(set) var changes: [UInt64: GroupChange] = [:]
    private(set) var order: [UInt64] = []

    /// An empty batch.
    public init() {}

    /// Whether the batch changes nothing.
    public var isEmpty: Bool { changes.values.allSatisfy(\.isEmpty) }

    /// The groups the batch changes, in the order they were first named.
    public var groupIDs: [UInt64] { order.filter { changes[$0]?.isEmpty == false } }

    /// Adds `entries` of `group` after any already in the batch for it, and sets its HardState
    /// unless `hardState` is empty: ``RaftStorage/LogStore/save(hardState:entries:)``.
    public mutating func save(hardState: HardState, entries: [Entry], for group: UInt64) {
        update(group) { change in
            change.entries.append(contentsOf: entries)
            if !hardState.isEmpty { change.hardState = hardState }
        }
    }

    /// Adds `entries` of `group` after any already in the batch for it.
    public mutating func append(_ entries: [Entry], to group: UInt64) {
        save(hardState: .empty, entries: entries, for: group)
    }

    /// Sets the HardState of `group` (``RaftStorage/HardState/empty`` leaves it unchanged).
    public mutating func setHardState(_ hardState: HardState, for group: UInt64) {
        save(hardState: hardState, entries: [], for: group)
    }

    /// Installs a snapshot received from the leader in `group`:
    /// ``RaftStorage/LogStore/applySnapshot(_:)``. A later call for the same group replaces it.
    public mutating func applySnapshot(_ metadata: SnapshotMetadata, to group: UInt64) {
        update(group) { $0.applySnapshot = SnapshotMarker(index: metadata.index, term: metadata.term, confState: metadata.confState) }
    }

    /// Records a snapshot taken locally in `group`: ``RaftStorage/LogStore/recordSnapshot(_:)``.
    /// A later call for the same group replaces it.
    public mutating func recordSnapshot(_ metadata: SnapshotMetadata, for group: UInt64) {
        update(group) { $0.recordSnapshot = SnapshotMarker(index: metadata.index, term: metadata.term, confState: metadata.confState) }
    }

    /// Compacts `group` through `index`: ``RaftStorage/LogStore/compact(through:)``. A later
    /// call for the same group replaces it.
    public mutating func compact(_ group: UInt64, through index: UInt64) {
        update(group) { $0.compact = index }
    }

    /// Changes `group`'s part; internal changes (removal, resuming) go through here too.
    mutating func update(_ group: UInt64, _ body: (inout GroupChange) -> Void) {
        if changes[group] == nil { order.append(group) }
        body(&changes[group, default: GroupChange()])
    }

    /// The parts that change something, in order.
    var parts: [(group: UInt64, change: GroupChange)] {
        order.compactMap { group in changes[group].flatMap { $0.isEmpty ? nil : (group, $0) } }
    }
}

/// One group's part of a batch, as written and as read back. Applied in field order:
/// removal, snapshot installed, entries and HardState, snapshot recorded, compaction, resume.
struct GroupChange: Sendable {
    /// Forget the group entirely (``LogEngine/removeGroup(_:)``).
    var remove = false
    var applySnapshot: SnapshotMarker?
    /// On disk only the entries the group's log keeps (the rest were at or below its boundary).
    var entries: [Entry] = []
    var hardState: HardState = .empty
    var recordSnapshot: SnapshotMarker?
    var compact: UInt64?
    /// Start the log at this older recorded marker (``GroupLog/resume(from:)``).
    var resume: SnapshotMarker?

    var isEmpty: Bool {
        !remove && applySnapshot == nil && entries.isEmpty && hardState.isEmpty && recordSnapshot == nil
            && compact == nil && resume == nil
    }

    /// Whether raft's `MustSync` asks for a sync for this part, `stored` being the HardState
    /// before it and `keptEntries` the entries it appends.
    func mustSync(stored: HardState, keptEntries: Int) -> Bool {
        remove || applySnapshot != nil || recordSnapshot != nil || resume != nil
            || (hardState.isEmpty ? keptEntries > 0 : hardState.mustSync(previous: stored, entryCount: keptEntries))
    }
}
