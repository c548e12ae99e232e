// The one check every log store makes of a batch before appending it, shared (package-visible)
// so MemoryStore and EtcdStorage word and bound it the same way.

extension Collection where Element == Entry {
    /// The first and last index of a batch whose indexes run on one by one; `nil` for an empty
    /// batch.
    ///
    /// - Throws: ``StorageError/Code/invalidArgument`` when the indexes are not consecutive, or
    ///   when the batch would reach the largest `UInt64` (no index could follow it, so no
    ///   store's arithmetic may be asked to).
    package func contiguousIndexRange() throws(StorageError) -> (first: UInt64, last: UInt64)? {
        guard let first = self.first?.index else { return nil }
        var expected = first
        for (position, entry) in zip(0..., self) {
            guard entry.index == expected, expected < .max else {
                throw StorageError(
                    .invalidArgument,
                    entry.index == .max
                        ? "entry index \(entry.index) leaves no index after it"
                        : "entries to append are not contiguous: index \(entry.index) at position \(position) after \(first)")
            }
            expected += 1
        }
        return (first, expected - 1)
    }
}
