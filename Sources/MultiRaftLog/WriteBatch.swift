public import RaftStorage

/// Changes to many raft groups, written by ``LogEngine/write(_:sync:)`` as one record: made
/// durable by one fdatasync and recovered all or nothing.
///
/// Each group's part holds what one `Ready` of that group persists, in the order a
/// ``RaftStorage/LogStore`` applies it, whatever the order of the calls that built it:
///
/// 1. ``applySnapshot(_:to:)``: a snapshot received from the leader (drops every entry);
/// 2. entries (``append(_:to:)-([Entry],_)``, ``save(hardState:entries:for:)``), replacing any overlapping
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
///
/// A batch keeps every call's entries in one array. A round of many groups with one new entry
/// each is cheapest built with ``save(hardState:entry:for:)`` (no array per group), going over
/// the groups in increasing order (no lookups to tell whether a group is named twice), into a
/// batch reserved once and emptied with ``removeAll(keepingCapacity:)`` after each write:
///
/// ```swift
/// var batch = WriteBatch()
/// batch.reserveCapacity(groups.count)
/// for round in rounds {
///     for group in groups { batch.save(hardState: state(of: group), entry: next(of: group), for: group) }
///     try await engine.writeDurably(batch)
///     batch.removeAll(keepingCapacity: true)
/// }
/// ```
public struct WriteBatch: Sendable {
    /// What each call added, in call order. A group named again has several, merged in order
    /// when the batch is written (``contents``): finding each group's part on every call (a
    /// dictionary kept up to date, and grown, as the batch grows) cost more than the rest of
    /// building a batch.
    private var calls: [GroupPart] = []
    /// The entries of every call, in call order, in one array; each call's part says where its
    /// own are. An array per group (one allocation to make and one to free per part, each of
    /// its entries destroyed through it) cost more than encoding the entries.
    private var entries: [Entry] = []

    /// An empty batch.
    public init() {}

    /// Makes room for `calls` calls and `entries` entries (by default one entry a call: a
    /// batch built by going over the groups once, each with its next entry) without growing
    /// the batch as it is built.
    public mutating func reserveCapacity(_ calls: Int, entries: Int? = nil) {
        self.calls.reserveCapacity(calls)
        self.entries.reserveCapacity(entries ?? calls)
    }

    /// Empties the batch; with `keepingCapacity`, a batch that was written and is not held
    /// elsewhere is built again without allocating.
    public mutating func removeAll(keepingCapacity: Bool = false) {
        calls.removeAll(keepingCapacity: keepingCapacity)
        entries.removeAll(keepingCapacity: keepingCapacity)
    }

    /// Whether the batch changes nothing.
    public var isEmpty: Bool { calls.allSatisfy(\.change.isEmpty) }

    /// The groups the batch changes, in the order they were first named.
    public var groupIDs: [UInt64] { contents.parts.map(\.group) }

    /// Adds `entries` of `group` after any already in the batch for it, and sets its HardState
    /// unless `hardState` is empty: ``RaftStorage/LogStore/save(hardState:entries:)``.
    public mutating func save(hardState: HardState, entries: [Entry], for group: UInt64) {
        let first = self.entries.count
        // The first entries of a batch with no room made are the caller's array itself, not a
        // copy (a single group's save).
        if self.entries.capacity == 0 { self.entries = entries } else { self.entries.append(contentsOf: entries) }
        calls.append(GroupPart(group: group, change: GroupChange(entryRange: first..<self.entries.count, hardState: hardState)))
    }

    /// Adds `entry` of `group` after any already in the batch for it, and sets its HardState
    /// unless `hardState` is empty: ``save(hardState:entries:for:)`` of one entry, without an
    /// array to build for it.
    public mutating func save(hardState: HardState, entry: consuming Entry, for group: UInt64) {
        entries.append(entry)
        calls.append(GroupPart(group: group, change: GroupChange(entryRange: entries.count - 1..<entries.count, hardState: hardState)))
    }

    /// Adds `entries` of `group` after any already in the batch for it.
    public mutating func append(_ entries: [Entry], to group: UInt64) {
        save(hardState: .empty, entries: entries, for: group)
    }

    /// Adds `entry` of `group` after any already in the batch for it.
    public mutating func append(_ entry: consuming Entry, to group: UInt64) {
        save(hardState: .empty, entry: entry, for: group)
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
    /// for it (``GroupChange/mergeSteps(_:)``); internal changes (removal, resuming) go through
    /// here too. The part holds no entries.
    mutating func update(_ group: UInt64, _ body: (inout GroupChange) -> Void) {
        var change = GroupChange()
        body(&change)
        change.entryRange = entries.count..<entries.count
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
    /// named, each group's calls merged in order; and the entries their ranges refer to.
    var contents: (parts: [GroupPart], entries: [Entry]) {
        guard hasRepeatedGroup else {
            return (calls.contains { $0.change.isEmpty } ? calls.filter { !$0.change.isEmpty } : calls, entries)
        }
        var positions = [UInt64: Int](minimumCapacity: calls.count)
        var callsOfGroup: [[Int]] = []
        for position in calls.indices {
            if let known = positions[calls[position].group] {
                callsOfGroup[known].append(position)
            } else {
                positions[calls[position].group] = callsOfGroup.count
                callsOfGroup.append([position])
            }
        }
        var parts: [GroupPart] = []
        var merged: [Entry] = []
        merged.reserveCapacity(entries.count)
        for group in callsOfGroup {
            var change = GroupChange()
            let first = merged.count
            for position in group {
                merged.append(contentsOf: entries[calls[position].change.entryRange])
                change.mergeSteps(calls[position].change)
            }
            change.entryRange = first..<merged.count
            if !change.isEmpty { parts.append(GroupPart(group: calls[group[0]].group, change: change)) }
        }
        return (parts, merged)
    }
}
