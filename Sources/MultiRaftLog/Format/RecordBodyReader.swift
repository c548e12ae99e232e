import RaftStorage

/// One record body read part by part (`Docs/OnDiskFormat.md`, "The multi-group log"): its
/// kind and part count first, then each part in turn, and nothing left after the last.
///
/// Recovery replays each part as it is read, so nothing is collected per record, and the
/// entries of the common parts (entries and a HardState) go straight into their group's index
/// (``GroupState/replayRun(_:from:)``): decoding them into values first cost more than the
/// rest of their replay.
struct RecordBodyReader {
    private var reader: BodyReader
    private let file: UInt64
    private let bodyOffset: Int64
    private var remaining: Int
    /// A purge record's oldest file kept (``LogFileFormat/purgeKind``); it has no parts.
    private(set) var oldestKept: UInt64?

    /// Starts on a body read from `file` at `bodyOffset` (`path` names it in errors).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for an unknown kind or a part count
    ///   the body cannot hold. A purge record (``oldestKept``) has no parts: ``next()`` checks
    ///   that nothing follows its number.
    init(_ body: UnsafeRawBufferPointer, file: UInt64, bodyOffset: Int64, path: String) throws(StorageError) {
        reader = BodyReader(body, path: path, bodyOffset: bodyOffset)
        self.file = file
        self.bodyOffset = bodyOffset
        let kind = try reader.byte()
        switch kind {
        case LogFileFormat.batchKind:
            // A part takes at least two bytes (group and flags).
            remaining = try reader.count(each: 2)
        case LogFileFormat.purgeKind:
            oldestKept = try reader.varint()
            remaining = 0
        default:
            throw reader.corrupt("unknown record kind \(kind)")
        }
    }

    /// The next part's group and flags, `nil` after the last part. Read the rest of the part
    /// next: with ``runHeader(_:)``, ``runEntry(index:)`` and ``runHardState(_:)`` when
    /// ``BatchCodec/isRun(_:)`` says so, with ``readPart(_:group:)`` otherwise.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for anything that breaks the format,
    ///   bytes after the last part included.
    mutating func next() throws(StorageError) -> (group: UInt64, flags: UInt8)? {
        guard remaining > 0 else {
            guard reader.isAtEnd else { throw reader.corrupt("\(reader.remaining) bytes after the record's last part") }
            return nil
        }
        remaining -= 1
        return (try reader.varint(), try reader.byte())
    }

    /// A run part's first index and entry count; `nil` when its flags say it holds no entries.
    mutating func runHeader(_ flags: UInt8) throws(StorageError) -> (first: UInt64, count: Int)? {
        BatchCodec.hasEntries(flags) ? try BatchCodec.decodeRunHeader(&reader) : nil
    }

    /// A run part's next entry, at `index`: its term and location.
    mutating func runEntry(index: UInt64) throws(StorageError) -> (term: UInt64, location: EntryLocation) {
        try BatchCodec.decodeEntry(&reader, index: index, file: file, bodyOffset: bodyOffset)
    }

    /// A run part's HardState, after its entries; empty when its flags say it holds none.
    mutating func runHardState(_ flags: UInt8) throws(StorageError) -> HardState {
        BatchCodec.hasHardState(flags) ? try BatchCodec.decodeHardState(&reader) : .empty
    }

    /// Reads a run part's rest without keeping it (its group cannot take it).
    mutating func skipRun(_ flags: UInt8) throws(StorageError) {
        if let (first, count) = try runHeader(flags) {
            for offset in 0..<count { _ = try runEntry(index: first + UInt64(offset)) }
        }
        _ = try runHardState(flags)
    }

    /// The rest of any other part, whole.
    mutating func readPart(_ flags: UInt8, group: UInt64) throws(StorageError) -> BatchCodec.DecodedPart {
        try BatchCodec.decodePart(flags, group: group, &reader, file: file, bodyOffset: bodyOffset)
    }
}
