/// raft's `limitSize`: the longest prefix of `entries` whose total ``Entry/encodedSize`` is at
/// most `maxBytes`, but always at least the first entry.
public func limitSize(_ entries: [Entry], maxBytes: UInt64) -> [Entry] {
    let count = limitedCount(entries, maxBytes: maxBytes)
    return count == entries.count ? entries : Array(entries[..<count])
}

/// How many leading entries of `entries` fit in `maxBytes` under raft's rule
/// (always at least one); for callers that build the result lazily.
public func limitedCount<C: RandomAccessCollection>(_ entries: C, maxBytes: UInt64) -> Int where C.Element == Entry {
    guard !entries.isEmpty else { return 0 }
    guard maxBytes != .max else { return entries.count }
    var total: UInt64 = 0
    var count = 0
    for entry in entries {
        total += UInt64(entry.encodedSize)
        if count > 0 && total > maxBytes { break }
        count += 1
    }
    return count
}
