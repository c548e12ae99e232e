import RaftStorage
import Testing

/// The one check of a batch's indexes before any log store appends it.
@Suite("A batch's indexes")
struct BatchContiguityTests {
    static func batch(_ indexes: [UInt64]) -> [Entry] {
        indexes.map { Entry(term: 1, index: $0, data: [UInt8]("entry \($0)".utf8)) }
    }

    @Test func consecutiveIndexesGiveTheirRange() throws {
        let entries = Self.batch([4, 5, 6, 7])
        let range = try entries.contiguousIndexRange()
        #expect(range?.first == 4 && range?.last == 7)
        // A slice counts from where it starts.
        let tail = try entries[2...].contiguousIndexRange()
        #expect(tail?.first == 6 && tail?.last == 7)
        #expect(try Self.batch([]).contiguousIndexRange() == nil)
    }

    @Test func aGapIsRefusedWithItsPosition() {
        let entries = Self.batch([1, 2, 3, 9, 10])
        #expect {
            try entries[1...].contiguousIndexRange()
        } throws: { error in
            let error = error as? StorageError
            return error?.code == .invalidArgument
                && error?.message == "entries to append are not contiguous: index 9 at position 2 after 2"
        }
    }

    @Test func theLargestIndexIsRefused() {
        #expect {
            try Self.batch([UInt64.max - 1, UInt64.max]).contiguousIndexRange()
        } throws: { error in
            let error = error as? StorageError
            return error?.code == .invalidArgument && error?.message == "entry index \(UInt64.max) leaves no index after it"
        }
    }
}
