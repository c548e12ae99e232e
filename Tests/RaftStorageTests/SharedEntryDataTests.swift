import RaftStorage
import Testing

/// Entries whose data lies in a shared ``EntryBuffer``: the same values as entries with arrays.
@Suite("Entry data in a shared buffer")
struct SharedEntryDataTests {
    /// A buffer holding `bytes`.
    static func buffer(_ bytes: [UInt8]) -> EntryBuffer {
        EntryBuffer(capacity: bytes.count) { raw in
            bytes.withUnsafeBytes { raw.copyMemory(from: $0) }
            return bytes.count
        }
    }

    /// An entry whose data is `buffer.bytes[range]`.
    static func shared(_ buffer: EntryBuffer, _ range: Range<Int>, index: UInt64 = 5) -> Entry {
        Entry(term: 2, index: index, type: .confChange, data: UnsafeRawBufferPointer(rebasing: buffer.bytes[range]), in: buffer)
    }

    @Test("equal to, and hashed as, the entry with the same bytes in an array")
    func equality() {
        let buffer = Self.buffer(Array(0..<64))
        let entry = Self.shared(buffer, 10..<20)
        let array = Entry(term: 2, index: 5, type: .confChange, data: Array(10..<20))
        #expect(entry == array && array == entry)
        #expect(entry.hashValue == array.hashValue)
        #expect(Set([entry, array]).count == 1)
        #expect(entry != Self.shared(buffer, 10..<21))
        #expect(entry != Entry(term: 2, index: 5, type: .confChange, data: Array(11..<21)))
        // Empty data is not absent data, in either form.
        let empty = Self.shared(buffer, 3..<3)
        #expect(empty == Entry(term: 2, index: 5, type: .confChange, data: []))
        #expect(empty != Entry(term: 2, index: 5, type: .confChange))
        #expect(empty.dataCount == 0 && empty.data == [])
    }

    @Test("data, dataCount and withData read the bytes where they lie")
    func reading() {
        let buffer = Self.buffer(Array(0..<64))
        let entry = Self.shared(buffer, 40..<48)
        #expect(entry.data == Array(40..<48))
        #expect(entry.dataCount == 8)
        #expect(entry.encodedSize == Entry(term: 2, index: 5, type: .confChange, data: Array(40..<48)).encodedSize)
        let start = entry.withData { $0!.baseAddress! }
        #expect(start == buffer.bytes.baseAddress! + 40)
        #expect(Entry(term: 1, index: 1).withData { $0 == nil })
        #expect(entry.description == "Entry(index: 5, term: 2, type: confChange, 8 bytes)")
    }

    @Test("changing the data gives the entry an array of its own and leaves the buffer as it was")
    func writing() {
        let buffer = Self.buffer(Array(0..<16))
        var entry = Self.shared(buffer, 4..<8)
        let other = Self.shared(buffer, 4..<8, index: 6)
        entry.data?.append(99)
        #expect(entry.data == [4, 5, 6, 7, 99])
        #expect(entry.withData { $0!.baseAddress! } != buffer.bytes.baseAddress! + 4)
        #expect(other.data == [4, 5, 6, 7])
        #expect(Array(buffer.bytes) == Array(0..<16))
        entry.data = nil
        #expect(entry.dataCount == nil && entry.data == nil)
    }

    @Test("data outside the buffer is copied, not referred to")
    func outside() {
        let buffer = Self.buffer(Array(0..<16))
        let elsewhere: [UInt8] = [7, 8, 9]
        let entry = elsewhere.withUnsafeBytes { Entry(term: 1, index: 1, data: $0, in: buffer) }
        #expect(entry.data == [7, 8, 9])
        let start = entry.withData { $0!.baseAddress! }
        #expect(start < buffer.bytes.baseAddress! || start >= buffer.bytes.baseAddress! + buffer.bytes.count)
        // Reaching past the buffer's end is outside it too.
        let straddling = Entry(
            term: 1, index: 1, data: UnsafeRawBufferPointer(start: buffer.bytes.baseAddress! + 12, count: 4), in: Self.buffer(Array(0..<14)))
        #expect(straddling.data == [12, 13, 14, 15])
    }

    @Test("entries keep their buffer alive after every other reference is gone")
    func lifetime() {
        var entries: [Entry] = []
        do {
            let buffer = Self.buffer(Array(repeating: 0xAB, count: 1 << 12) + [1, 2, 3])
            entries.append(Self.shared(buffer, (1 << 12)..<((1 << 12) + 3)))
        }
        // Other allocations in between must not reuse the buffer's memory.
        let noise = (0..<64).map { [UInt8](repeating: UInt8($0), count: 1 << 12) }
        #expect(noise.count == 64)
        #expect(entries[0].data == [1, 2, 3])
    }

    @Test("an entry takes 40 bytes in an array, whichever way it keeps its data")
    func size() {
        // A replay of a million entries holds a million of these; the data is elsewhere.
        #expect(MemoryLayout<Entry>.stride == 40)
    }

    @Test("a buffer holds what its fill wrote, no more, and a failed fill throws its error")
    func filling() throws {
        let buffer = EntryBuffer(capacity: 100) { raw in
            raw.storeBytes(of: 0x0102_0304, as: UInt32.self)
            return 4
        }
        #expect(buffer.bytes.count == 4)
        struct Refused: Error {}
        #expect(throws: Refused.self) { try EntryBuffer(capacity: 10) { (_) throws(Refused) -> Int in throw Refused() } }
        #expect(EntryBuffer(capacity: 0) { _ in 0 }.bytes.isEmpty)
    }
}
