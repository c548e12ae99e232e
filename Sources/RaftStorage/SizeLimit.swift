/// raft's `limitSize`: the longest prefix of `entries` whose total ``Entry/encodedSize`` is at
/// most `maxBytes`, but always at least the first entry.
public func limitSize(_ entries: [Entry], maxBytes: UInt64) -> [Entry] {
    let count = limitedCount(entries, maxBytes: maxBytes)
    return count == entries.count ? entries : Array(entries[..<count])
}

/// How many leading entries of `entries` fit in `maxBytes` under raft's rule
/// (always at least one); for callers that build the result lazily.
public func limitedCount<C: RandomAccessCollection>(_ entries: C, maxBytes: UInt64) -> Int where C.Element == Entry {
    guard maxBytes != .max else { return entries.count }
    var budget = EntrySizeBudget(maxBytes: maxBytes)
    var count = 0
    for entry in entries {
        guard budget.take(entry) else { break }
        count += 1
    }
    return count
}

/// raft's size rule, written once: entries are taken in order while their total
/// ``Entry/encodedSize`` stays at most `maxBytes`, but the first is always taken.
package struct EntrySizeBudget {
    /// The size limit; `.max` for none.
    package let maxBytes: UInt64
    /// The total size of the entries taken, counted only under a limit.
    private var used: UInt64 = 0
    private var takenAny = false

    package init(maxBytes: UInt64) {
        self.maxBytes = maxBytes
    }

    /// Takes `entry` when it fits after those taken so far; `false` when it does not.
    package mutating func take(_ entry: Entry) -> Bool {
        if maxBytes != .max {
            used += UInt64(entry.encodedSize)
            guard !takenAny || used <= maxBytes else { return false }
        }
        takenAny = true
        return true
    }
}
