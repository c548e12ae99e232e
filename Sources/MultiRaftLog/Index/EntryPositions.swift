import RaftStorage

/// Where one entry's bytes are: a log file, the offset in it and the byte count (its encoding
/// and checksum inside a record; see `Docs/OnDiskFormat.md`).
struct EntryLocation: Hashable, Sendable {
    var file: UInt64
    var offset: UInt64
    var length: UInt64
}

/// A group's index of its entries: their terms and where their bytes are, never the data.
/// The slots of the group's ``LogWindow``.
///
/// Memory: one `UInt64` per entry (offset and length packed), plus one run per term change and
/// one per change of file, so a group of ten thousand entries takes about 8 bytes each (up to
/// 16 right after the array grows). An entry longer than ``maxPackedLength`` keeps its length
/// beside, in a small table.
struct EntryPositions: LogSlots, Sendable {
    /// The packing: the offset in the high bits, the length in the low ones.
    static let lengthBits: UInt64 = 24
    static let maxPackedLength: UInt64 = (1 << lengthBits) - 2
    static let longLength: UInt64 = (1 << lengthBits) - 1
    /// Offsets must stay below this (1 TiB); the engine caps its file size well under it.
    static let offsetLimit: UInt64 = 1 << (64 - lengthBits)

    /// The index of the first entry (the boundary's plus one).
    private(set) var first: UInt64
    private var packed: ContiguousArray<UInt64> = []
    private var terms = IndexRuns()
    private var files = IndexRuns()
    /// Lengths that do not fit the packing, by index.
    private var longLengths: [UInt64: UInt64] = [:]

    init(after boundary: UInt64) {
        first = boundary + 1
    }

    var count: UInt64 { UInt64(packed.count) }

    /// The last entry's index; `first - 1` when empty.
    var last: UInt64 { first + count - 1 }

    func term(at index: UInt64) -> UInt64 { terms.value(at: index) }

    /// Where the entry at `index` (one these hold) is.
    func location(at index: UInt64) -> EntryLocation {
        let word = packed[Int(index - first)]
        var length = word & Self.longLength
        if length == Self.longLength { length = longLengths[index] ?? 0 }
        return EntryLocation(file: files.value(at: index), offset: word >> Self.lengthBits, length: length)
    }

    /// Adds the entry after the last one, with its term and location. The location's offset is
    /// below ``offsetLimit`` (the engine's writers and recovery check it).
    mutating func append(term: UInt64, at location: EntryLocation) {
        let index = first + count
        terms.append(term, at: index)
        files.append(location.file, at: index)
        var length = location.length
        if length > Self.maxPackedLength {
            longLengths[index] = length
            length = Self.longLength
        }
        packed.append(location.offset << Self.lengthBits | length)
    }

    mutating func truncate(after index: UInt64) {
        if index < first {
            self = EntryPositions(after: index)
            return
        }
        guard index < last else { return }
        let kept = Int(index + 1 - first)
        packed.removeSubrange(kept...)
        terms.truncate(after: index)
        files.truncate(after: index)
        if !longLengths.isEmpty { longLengths = longLengths.filter { $0.key <= index } }
    }

    mutating func drop(through index: UInt64) {
        guard index >= first else { return }
        guard index < last else {
            self = EntryPositions(after: index)
            return
        }
        packed.removeFirst(Int(index + 1 - first))
        first = index + 1
        terms.drop(before: first)
        files.drop(before: first)
        if !longLengths.isEmpty { longLengths = longLengths.filter { $0.key > index } }
    }

    /// The oldest file holding any of these entries; `nil` when empty.
    var oldestFile: UInt64? {
        files.runs.lazy.map(\.value).min()
    }

    /// The term runs, for a group's base record.
    var termRuns: ContiguousArray<IndexRuns.Run> { terms.runs }

    /// Bytes the index takes (capacities: what the process really holds).
    var memoryBytes: Int {
        packed.capacity * MemoryLayout<UInt64>.stride + terms.memoryBytes + files.memoryBytes
            + longLengths.capacity * (MemoryLayout<UInt64>.stride * 2)
    }
}
