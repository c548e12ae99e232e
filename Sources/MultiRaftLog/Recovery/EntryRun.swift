import RaftStorage

/// A part of entries and a HardState only, as recovery reads it: the first index, each
/// entry's term and location, in arrays kept from part to part (a part's own arrays, and the
/// `Entry` values admitting it, cost more than the rest of its replay).
struct EntryRun {
    var first: UInt64 = 0
    var terms: [UInt64] = []
    var locations: [EntryLocation] = []
    var hardState: HardState = .empty

    /// Empties the run for the next part, keeping the arrays' capacity.
    mutating func reset() {
        first = 0
        terms.removeAll(keepingCapacity: true)
        locations.removeAll(keepingCapacity: true)
        hardState = .empty
    }
}

extension GroupState {
    /// Admits and applies `run` as ``admit(_:)`` and ``apply(_:keptFrom:locations:file:)`` do a
    /// change holding the same entries and HardState: the window's rule for a run
    /// (``RaftStorage/LogWindow/admitRun(first:count:hardState:replacing:)``) is the one its
    /// rule for entries uses.
    ///
    /// - Throws: what admitting the change throws; nothing changes then.
    mutating func replay(_ run: EntryRun) throws(StorageError) {
        let kept = try window.admitRun(first: run.first, count: UInt64(run.terms.count), hardState: run.hardState, replacing: hardState)
        if !kept.isEmpty {
            let skipped = Int(kept.lowerBound - run.first)
            window.replace(from: kept.lowerBound) { slots in
                for position in skipped..<run.terms.count { slots.append(term: run.terms[position], at: run.locations[position]) }
            }
        }
        if !run.hardState.isEmpty { hardState = run.hardState }
    }
}
