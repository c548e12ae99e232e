// A log's terms as runs: (first index of the run, its term), in index order. A raft log changes
// term rarely, so the WAL replay and the located entries keep one element per run instead of
// one term per entry.

extension Array where Element == (first: UInt64, term: UInt64) {
    /// The term of `index`, which must not precede the first run (binary search for the last run
    /// starting at or before it).
    func term(at index: UInt64) -> UInt64 {
        var low = 0
        var high = count
        while high - low > 1 {
            let middle = (low + high) / 2
            if self[middle].first <= index { low = middle } else { high = middle }
        }
        return self[low].term
    }
}
