import RaftStorage
import Testing

/// raft's size rule as the `Collection<Entry>` API the log and every backend use: the longest
/// prefix within `maxBytes`, but never less than one entry.
@Suite("Entry size limit")
struct RaftLogSizeLimitTests {
    /// Five entries of the same encoded size.
    static let five = (UInt64(1)...5).map { Entry(term: 1, index: $0, data: [1, 2, 3]) }
    static let size = UInt64(five[0].encodedSize)

    /// (maxBytes, entries returned).
    static let limits: [(UInt64, Int)] = [
        (UInt64.max, 5), (0, 1), (1, 1), (size - 1, 1), (size, 1), (size + 1, 1),
        (size * 2, 2), (size * 3 - 1, 2), (size * 3, 3), (size * 5, 5), (size * 100, 5),
    ]

    @Test(arguments: limits)
    func prefixWithinTheLimit(maxBytes: UInt64, count: Int) {
        #expect(Self.five.prefixCount(maxBytes: maxBytes) == count)
        #expect(Array(Self.five.prefix(maxBytes: maxBytes)) == Array(Self.five.prefix(count)))
    }

    @Test func anEmptyCollectionHasAnEmptyPrefix() {
        let none: [Entry] = []
        #expect(none.prefixCount(maxBytes: 0) == 0)
        #expect(none.prefix(maxBytes: .max).isEmpty)
        #expect(none.totalEncodedSize == 0)
    }

    @Test func worksOnAnySliceOfEntries() {
        let tail = Self.five[2...]
        #expect(tail.prefix(maxBytes: Self.size * 2).map(\.index) == [3, 4])
        #expect(tail.prefixCount(maxBytes: 0) == 1)
        #expect(Self.five.totalEncodedSize == Self.size * 5)
    }
}
