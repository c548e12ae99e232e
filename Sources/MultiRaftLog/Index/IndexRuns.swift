// A value that changes rarely along a group's log (an entry's term, the file its bytes are in),
// kept as runs: one element per change instead of one per entry.

/// Runs of equal values over consecutive indexes: each element is the first index of a run and
/// its value, in index order. The run of an index is the last one starting at or before it.
struct IndexRuns: Sendable {
    struct Run: Sendable {
        var first: UInt64
        var value: UInt64
    }

    private(set) var runs: ContiguousArray<Run> = []
    /// The last run's value, kept beside the array: an append that continues the run (almost
    /// every one) then reads no memory of the array's, which recovery, going round every group
    /// in turn, finds out of the cache.
    private var lastValue: UInt64?

    var isEmpty: Bool { runs.isEmpty }

    /// The value at `index`, which must not precede the first run.
    func value(at index: UInt64) -> UInt64 {
        runs[position(of: index)].value
    }

    /// Where the run holding `index` is in ``runs``.
    func position(of index: UInt64) -> Int {
        var low = 0
        var high = runs.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if runs[middle].first <= index { low = middle } else { high = middle }
        }
        return low
    }

    /// Records `value` for `index`, which follows every index recorded so far.
    mutating func append(_ value: UInt64, at index: UInt64) {
        if lastValue == value { return }
        runs.append(Run(first: index, value: value))
        lastValue = value
    }

    /// Forgets every index after `index`.
    mutating func truncate(after index: UInt64) {
        while let last = runs.last, last.first > index { runs.removeLast() }
        lastValue = runs.last?.value
    }

    /// Forgets every index before `first`, keeping the run that holds it.
    mutating func drop(before first: UInt64) {
        guard !runs.isEmpty else { return }
        let keep = position(of: first)
        if keep > 0 { runs.removeFirst(keep) }
        if runs[0].first < first { runs[0].first = first }
    }

    mutating func removeAll() {
        runs.removeAll()
        lastValue = nil
    }

    /// Bytes the runs take (capacity, not count: what the process really holds).
    var memoryBytes: Int { runs.capacity * MemoryLayout<Run>.stride }
}
