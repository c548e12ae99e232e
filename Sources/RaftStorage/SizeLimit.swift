extension Collection where Element == Entry {
    /// How many leading entries fit in `maxBytes` under raft's size rule (``EntrySizeBudget``):
    /// the longest prefix whose total ``Entry/encodedSize`` is at most `maxBytes`, but at least
    /// one entry when the collection is not empty. `.max` means no limit.
    ///
    /// For callers that build their result lazily; ``prefix(maxBytes:)`` cuts the collection.
    public func prefixCount(maxBytes: UInt64) -> Int {
        guard maxBytes != .max else { return count }
        var budget = EntrySizeBudget(maxBytes: maxBytes)
        var taken = 0
        for entry in self {
            guard budget.take(entry) else { break }
            taken += 1
        }
        return taken
    }

    /// The longest prefix whose total ``Entry/encodedSize`` is at most `maxBytes`, but always
    /// the first entry (raft's size rule, ``EntrySizeBudget``). `.max` means no limit.
    ///
    /// ```swift
    /// let page = Array(entries.prefix(maxBytes: 64 * 1024))
    /// ```
    public func prefix(maxBytes: UInt64) -> SubSequence {
        prefix(prefixCount(maxBytes: maxBytes))
    }

    /// The total ``Entry/encodedSize`` of the entries, the unit of every `maxBytes` limit
    /// (raft's `entsSize`).
    public var totalEncodedSize: UInt64 {
        reduce(UInt64(0)) { $0 + UInt64($1.encodedSize) }
    }
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
