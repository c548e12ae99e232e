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
    /// What each call added, in call order. A group named again has several, merged in order
    /// when the batch is written (``parts``): finding each group's part on every call (a
    /// dictionary kept up to date, and grown, as the batch grows) cost more than the rest of
    /// building a batch.
    private var calls: [GroupPart] = []

    /// An empty batch.
    public init() {}

    /// Makes room for `calls` calls (one per group, for a batch built by going over the
    /// groups once) without growing the batch as it is built.
    public mutating func reserveCapacity(_ calls: Int) {
        self.calls.reserveCapacity(calls)
    }

    /// Whether the batch changes nothing.
    public var isEmpty: Bool { calls.allSatisfy(\.change.isEmpty) }

    /// The groups the batch changes, in the order they were first named.
    public var groupIDs: [UInt64] { parts.map(\.group) }

    /// Adds `entries` of `group` after any already in the batch for it, and sets its HardState
    /// unless `hardState` is empty: ``RaftStorage/LogStore/save(hardState:entries:)``.
    public mutating func save(hardState: HardState, entries: [Entry], for group: UInt64) {
        calls.append(GroupPart(group: group, change: GroupChange(entries: entries, hardState: hardState)))
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

    /// Adds a part for `group`, made by `body` from an empty one, after what the batch holds
    /// for it (``GroupChange/merge(_:)``); internal changes (removal, resuming) go through
    /// here too.
    mutating func update(_ group: UInt64, _ body: (inout GroupChange) -> Void) {
        var change = GroupChange()
        body(&change)
        calls.append(GroupPart(group: group, change: change))
    }

    /// Whether a group has more than one call. Groups named in increasing order (a batch built
    /// by going over the groups) need no lookups to tell.
    private var hasRepeatedGroup: Bool {
        var increasing = true
        for position in calls.indices.dropFirst() where calls[position].group <= calls[position - 1].group {
            increasing = false
            break
        }
        guard !increasing else { return false }
        var seen = Set<UInt64>(minimumCapacity: calls.count)
        return calls.contains { !seen.insert($0.group).inserted }
    }

    /// The parts that change something, one per group, in the order the groups were first
    /// named: each group's calls merged in order.
    var parts: [GroupPart] {
        guard hasRepeatedGroup else { return calls.contains { $0.change.isEmpty } ? calls.filter { !$0.change.isEmpty } : calls }
        var merged: [GroupPart] = []
        var positions = [UInt64: Int](minimumCapacity: calls.count)
        for call in calls {
            if let position = positions[call.group] {
                merged[position].change.merge(call.change)
            } else {
                positions[call.group] = merged.count
                merged.append(call)
            }
        }
        return merged.filter { !$0.change.isEmpty }
    }
}
