import RaftStorage

/// One record body read part by part (`Docs/OnDiskFormat.md`, "The multi-group log"): its
/// kind and part count first, then each part in turn, and nothing left after the last.
///
/// Recovery replays each part as it is read, so nothing is collected per record, and the
/// common parts (entries and a HardState) go into one reused ``EntryRun``.
struct RecordBodyReader {
    private var reader: BodyReader
    private let file: UInt64
    private let bodyOffset: Int64
    private var remaining: Int

    /// Starts on a body read from `file` at `bodyOffset` (`path` names it in errors).
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for an unknown kind or a part count
    ///   the body cannot hold.
    init(_ body: UnsafeRawBufferPointer, file: UInt64, bodyOffset: Int64, path: String) throws(StorageError) {
        reader = BodyReader(body, path: path, bodyOffset: bodyOffset)
        self.file = file
        self.bodyOffset = bodyOffset
        let kind = try reader.byte()
        guard kind == LogFileFormat.batchKind else { throw reader.corrupt("unknown record kind \(kind)") }
        // A part takes at least two bytes (group and flags).
        remaining = try reader.count(each: 2)
    }

    /// The next part's group and flags, `nil` after the last part. Read the rest of the part
    /// next, with ``readRun(_:into:)`` when ``BatchCodec/isRun(_:)`` says so, with
    /// ``readPart(_:group:)`` otherwise. (Returning the decoded part from here would copy a
    /// large value per part, a tenth of an open's time.)
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

    /// The rest of a part of entries and a HardState, into `run`.
    mutating func readRun(_ flags: UInt8, into run: inout EntryRun) throws(StorageError) {
        try BatchCodec.decodeRun(flags, &reader, file: file, bodyOffset: bodyOffset, into: &run)
    }

    /// The rest of any other part, whole.
    mutating func readPart(_ flags: UInt8, group: UInt64) throws(StorageError) -> BatchCodec.DecodedPart {
        try BatchCodec.decodePart(flags, group: group, &reader, file: file, bodyOffset: bodyOffset)
    }
}
