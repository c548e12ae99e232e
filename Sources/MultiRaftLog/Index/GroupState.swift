import RaftStorage

/// A group's log as etcd's `MemoryStorage` rules shape it, over entry positions.
typealias GroupWindow = LogWindow<EntryPositions>

/// What the engine knows of one group: its log (boundary and entry positions), HardState and
/// snapshot markers, and where in the files its history starts.
///
/// Writes and recovery change it the same way: ``admit(_:entries:)`` checks a part with the
/// ``RaftStorage/LogStore`` rules without changing anything, then ``apply(_:kept:locations:file:)``
/// applies it (it cannot fail once admitted). Recovery replays every record through the same
/// two calls, so it rebuilds exactly what the writes built.
struct GroupState: Sendable {
    var window = GroupWindow()
    var hardState: HardState = .empty
    /// The newest marker recorded, or the one resumed from.
    var marker: SnapshotMarker = .zero
    /// Every marker recorded at or after the boundary, oldest first; a new log starts at
    /// (0, 0), as a WAL's first record does.
    var markers: [SnapshotMarker] = [.zero]
    /// The oldest file that rebuilding this state reads: the one holding the group's first
    /// record, or, after a purge's rewrite, the oldest file its base record points into (its
    /// own file, or an older one where entries it refers to were). Recovery refuses a base
    /// whose entries are not there, even entries compacted since, so that file must stay until
    /// the group's next base record.
    var historyStart: UInt64

    init(historyStart: UInt64) {
        self.historyStart = historyStart
    }

    /// The oldest file this group needs: its history, or an entry's bytes.
    var oldestFileNeeded: UInt64 {
        min(historyStart, window.slots.oldestFile ?? historyStart)
    }

    // MARK: - Checking

    /// Checks `change`, whose entries are `entries`, with the ``RaftStorage/LogStore`` rules,
    /// in its order, and returns how many of the entries the log drops (those at or below the
    /// part's boundary): the kept ones follow them.
    ///
    /// - Throws: what the ``RaftStorage/LogStore`` call for each step throws; nothing changes.
    func admit(_ change: GroupChange, entries: ArraySlice<Entry>) throws(StorageError) -> Int {
        // The common part, entries and a HardState: checked against the log as it is.
        if !change.remove && !change.hasRareSteps {
            var state = self
            return try state.admitInPlace(entries, hardState: change.hardState).dropped
        }
        var window = self.window
        var marker = self.marker
        var hardState = self.hardState
        var markers = self.markers
        if change.remove {
            window = GroupWindow()
            marker = .zero
            hardState = .empty
            markers = [.zero]
        }
        if let snapshot = change.applySnapshot {
            // No index could follow one at the largest value.
            guard snapshot.index < UInt64.max else {
                throw StorageError(.invalidArgument, "snapshot index \(snapshot.index) leaves no index after it")
            }
            try GroupWindow.requireNewer(snapshot.index, than: marker.index)
            window = GroupWindow(boundaryIndex: snapshot.index, boundaryTerm: snapshot.term)
            marker = snapshot
            markers = [snapshot]
        }
        let kept = try window.admit(entries, hardState: change.hardState, replacing: hardState)
        let keptFrom = Self.dropped(before: kept, of: entries)
        guard change.recordSnapshot != nil || change.compact != nil || change.resume != nil else { return keptFrom }
        // Rare: later steps check against the log after the entries (a copy, with dummy places).
        if !kept.isEmpty {
            window.replace(from: kept[kept.startIndex].index) { slots in
                for entry in kept { slots.append(term: entry.term, at: EntryLocation(file: 0, offset: 0, length: 0)) }
            }
        }
        if !change.hardState.isEmpty { hardState = change.hardState }
        if let recorded = change.recordSnapshot {
            try window.checkRecordable(recorded.index, term: recorded.term, newerThan: marker.index)
            marker = recorded
            markers.append(recorded)
        }
        if let index = change.compact { try window.compact(through: index) }
        if let resumed = change.resume {
            try Self.checkResumable(resumed, window: window, current: marker, markers: markers)
        }
        return keptFrom
    }

    /// ``admit(_:entries:)`` through a mutable access (it changes nothing), for a group held
    /// in a dictionary, whose read would copy the group out: a few hundred bytes moved and its
    /// index's arrays retained and released, for every part of every batch. Returns the
    /// HardState stored too.
    mutating func admitInPlace(_ change: GroupChange, entries: ArraySlice<Entry>) throws(StorageError) -> (dropped: Int, stored: HardState) {
        if !change.remove && !change.hasRareSteps { return try admitInPlace(entries, hardState: change.hardState) }
        return (try admit(change, entries: entries), hardState)
    }

    /// ``admit(_:entries:)`` of the common part, `entries` and `hardState` only, through a
    /// mutable access (it changes nothing; a read of the window from a non-mutating method
    /// copied it, its arrays retained, for each call into the window's generic code): how many
    /// of the entries the log drops, and the HardState stored.
    ///
    /// The window's rule in its two halves, as recovery replays a run: the indexes checked
    /// here, then ``RaftStorage/LogWindow/acceptedRun(first:count:)`` and the HardState's rule
    /// (what ``RaftStorage/LogWindow/admit(_:hardState:replacing:)`` does). The window's code is
    /// generic and not specialised for this module; its `admit` cost 270 instructions a part,
    /// a seventh of a write of many one-entry groups.
    mutating func admitInPlace(_ entries: some Collection<Entry>, hardState newHardState: HardState) throws(StorageError) -> (dropped: Int, stored: HardState) {
        guard let (first, last) = try entries.contiguousIndexRange() else {
            try newHardState.validate(replacing: hardState, lastIndexAfterSave: window.lastIndex)
            return (0, hardState)
        }
        let (kept, lastIndex) = try window.acceptedRunInPlace(first: first, count: last - first + 1)
        try newHardState.validate(replacing: hardState, lastIndexAfterSave: kept.isEmpty ? lastIndex : kept.upperBound - 1)
        return (kept.isEmpty ? entries.count : Int(kept.lowerBound - first), hardState)
    }

    /// How many of `entries` come before `kept`, the part of them the log keeps. An empty
    /// slice may not share the entries' indexes: none kept drops them all.
    private static func dropped(before kept: ArraySlice<Entry>, of entries: ArraySlice<Entry>) -> Int {
        kept.isEmpty ? entries.count : kept.startIndex - entries.startIndex
    }

    /// A log may resume from a marker it recorded (or its current one) while it still holds
    /// the marker's entry, or has it as its boundary.
    private static func checkResumable(
        _ resumed: SnapshotMarker, window: GroupWindow, current: SnapshotMarker, markers: [SnapshotMarker]
    ) throws(StorageError) {
        guard resumed.matches(current) || markers.contains(where: { $0.matches(resumed) }) else {
            throw StorageError(.notFound, "snapshot marker \(resumed) is not recorded in the log")
        }
        guard resumed.index >= window.boundaryIndex, window.termIfPresent(at: resumed.index) == resumed.term else {
            throw StorageError(
                .unsupported,
                "the log no longer holds the entries after snapshot marker \(resumed) (its boundary is \(window.boundaryIndex))")
        }
    }

    // MARK: - Applying

    /// Applies `change`, admitted by ``admit(_:entries:)``, whose entries the log keeps are
    /// `kept` (those after the ones admission dropped), at `locations`, written in `file`.
    mutating func apply(_ change: GroupChange, kept: some Collection<Entry>, locations: some Collection<EntryLocation>, file: UInt64) {
        if change.remove { self = GroupState(historyStart: file) }
        if let snapshot = change.applySnapshot {
            window.reset(boundaryIndex: snapshot.index, term: snapshot.term)
            marker = snapshot
            markers = [snapshot]
        }
        if !kept.isEmpty {
            window.replace(from: kept[kept.startIndex].index) { slots in
                // By position: iterating the entries themselves retained and released each
                // one's data.
                var location = locations.startIndex
                for position in kept.indices {
                    slots.append(term: kept[position].term, at: locations[location])
                    locations.formIndex(after: &location)
                }
            }
        }
        if !change.hardState.isEmpty { hardState = change.hardState }
        if let recorded = change.recordSnapshot {
            marker = recorded
            markers.append(recorded)
        }
        if let index = change.compact {
            // Admitted: it cannot throw here.
            try? window.compact(through: index)
            markers.removeAll { $0.index < window.boundaryIndex }
        }
        if let resumed = change.resume {
            marker = resumed
            if window.boundaryIndex < resumed.index {
                try? window.compact(through: resumed.index)
                markers.removeAll { $0.index < window.boundaryIndex }
            }
        }
    }

    /// Replaces the state with a base record's (a purge's rewrite of the group), read in `file`.
    mutating func apply(_ base: GroupBase, file: UInt64) {
        var window = GroupWindow(boundaryIndex: base.boundaryIndex, boundaryTerm: base.boundaryTerm)
        if !base.entries.isEmpty {
            window.replace(from: base.boundaryIndex + 1) { slots in
                for entry in base.entries { slots.append(term: entry.term, at: entry.location) }
            }
        }
        self.window = window
        hardState = base.hardState
        marker = base.marker
        markers = base.markers
        historyStart = base.entries.reduce(file) { min($0, $1.location.file) }
    }

    /// The state as a base record holds it.
    var base: GroupBase {
        let slots = window.slots
        let entries = window.isEmpty
            ? []
            : (window.firstIndex...window.lastIndex).map { GroupBase.Entry(term: slots.term(at: $0), location: slots.location(at: $0)) }
        return GroupBase(
            boundaryIndex: window.boundaryIndex, boundaryTerm: window.boundaryTerm, hardState: hardState, marker: marker,
            markers: markers, entries: entries)
    }
}

/// A group's whole state in one record, written when a purge rewrites the group: its history
/// starts again there. Entries whose bytes were in files about to be removed are copied into
/// the record; the others are referred to where they are.
struct GroupBase: Sendable {
    struct Entry: Sendable {
        var term: UInt64
        var location: EntryLocation
    }

    var boundaryIndex: UInt64
    var boundaryTerm: UInt64
    var hardState: HardState
    var marker: SnapshotMarker
    var markers: [SnapshotMarker]
    /// The entries after the boundary, in order.
    var entries: [Entry]
}
