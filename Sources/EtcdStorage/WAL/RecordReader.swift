import RaftStorage
public import RaftFiles

/// One record read from a WAL, with where it was found.
public struct WALRecordInfo: Hashable, Sendable {
    /// The segment file.
    public var path: String
    /// Offset of the record's length word in that file.
    public var offset: Int64
    /// Length of the frame: length word, record and padding.
    public var frameSize: Int
    /// The decoded record.
    public var record: LogRecord
    /// The checksum stored with the record.
    public var checksum: UInt32
}

/// An entry record's position in the log, without its data.
struct EntryMetadata: Hashable, Sendable {
    var index: UInt64
    var term: UInt64
}

/// Where a record lies: which of the reader's files, where in it, and the running CRC before it.
struct RecordPosition {
    var fileIndex: Int
    var offset: Int
    var crcBefore: UInt32
}

/// One record as ``RecordReader`` hands it out: cheap to pass around (no path), with the
/// entry's data only when asked for.
struct ReadRecord {
    /// The codec's own result, handed on as it is: converting it to another enum cost an
    /// outlined copy of the entry per record on the replay's hot path.
    typealias Body = DecodedLogRecord.Body

    /// Which of the reader's files holds the record.
    var fileIndex: Int
    /// Offset of the record's length word in that file.
    var offset: Int
    /// Length of the frame: length word, record and padding.
    var frameSize: Int
    /// The checksum stored with the record.
    var checksum: UInt32
    /// The running CRC before this record (what a reader starting here must begin with).
    var crcBefore: UInt32
    var body: Body

    var position: RecordPosition { RecordPosition(fileIndex: fileIndex, offset: offset, crcBefore: crcBefore) }

    /// The record, for callers that want every field; `nil` for an entry read without data.
    var record: LogRecord? { body.record }
}

/// Reads framed records across segment files with etcd's decoder rules (Docs/OnDiskFormat.md, The CRC chain; Docs/Recovery.md, Torn tail or damage).
///
/// - A zero length word or the end of a file at a frame boundary ends that file.
/// - Every non-crc record continues the running CRC32C with its payload and must match the
///   value it stores; a crc record must match the running value unless that is 0 (so reading
///   can start at any segment), and then replaces it.
/// - In the **last** file, a record that does not fit in the rest of the file, does not decode
///   or fails its CRC is a torn write (``StorageError/Code/unexpectedEnd`` at the record's
///   offset, what repair cuts off) only when the tail rule says so
///   (``classifyTailFailure(at:frameEnd:bodyEnd:cause:)``); otherwise it is damage. A zero
///   length word ends a file unless an intact record follows it.
///   A record running past the end of an earlier file is ``StorageError/Code/corrupt``: later
///   segments exist, so this is lost data, not a torn tail.
///
/// Segments are read through a ``SegmentWindow``: chunk by chunk, never past the first zero
/// length word. Each record is decoded by one call to the codec's
/// ``RaftFiles/RecordCodec/decodeLogRecord(_:entryData:)``, which for an entry read for
/// ``EntryBodies/metadata`` copies no data (etcd's codec parses its usual entry records in
/// one pass, and copies their data once when it is wanted, or leaves it in the chunk for
/// ``EntryBodies/shared``); the reader verifies the checksum.
struct RecordReader<Codec: RecordCodec> {
    /// What entry records are read into.
    enum EntryBodies {
        /// Whole entries, each with its data copied into an array of its own.
        case full
        /// Whole entries whose data stays in the chunks read (``RaftStorage/EntryBuffer``s
        /// shared by the entries of each chunk), when the codec can leave it there
        /// (``RaftFiles/RecordCodec/sharesEntryData``; otherwise as ``full``): for a replay
        /// that keeps what it reads.
        case shared
        /// Index and term only: the data is checked (CRC) but not copied.
        case metadata
    }

    let codec: Codec
    let fileSystem: any FileSystem
    let paths: [String]
    var entryBodies: EntryBodies = .full
    /// Whether the end of each file and failures in the last one are checked by the tail
    /// rule; off for a reader of records at known positions, which never reads to the end.
    var checksTail = true
    /// Whether the last of ``paths`` is the WAL's last segment; false for a reader of one
    /// earlier segment on its own, whose end is then checked as a sealed segment's.
    var endsTheLog = true
    private(set) var fileIndex = 0
    private(set) var window: SegmentWindow?
    private var spareBuffer: [UInt8] = []
    /// Offset in the current file just past the last good record (etcd's `lastValidOff`).
    private(set) var offset = 0
    /// The running CRC32C of all payloads read so far.
    private(set) var crc: UInt32 = 0
    /// Where reading ended in the last file, once it has been reached and finished.
    private(set) var endOfLastFile: Int?

    /// Where the first file's reading starts, when not at its beginning.
    private var resumeAt: Int?

    init(codec: Codec, fileSystem: any FileSystem, paths: [String]) {
        self.codec = codec
        self.fileSystem = fileSystem
        self.paths = paths
    }

    /// A reader of the one file `path` from the record at `offset`, where the running CRC is
    /// `crc` (a position an earlier read recorded, see ``ReadRecord/crcBefore``).
    init(codec: Codec, fileSystem: any FileSystem, path: String, offset: Int, crc: UInt32) {
        self.init(codec: codec, fileSystem: fileSystem, paths: [path])
        self.resumeAt = offset
        self.crc = crc
        self.checksTail = false
    }

    private var isLastFile: Bool { fileIndex == paths.count - 1 && endsTheLog }

    /// The file the last record returned came from.
    var currentPath: String { paths[min(fileIndex, paths.count - 1)] }

    /// The next record, or `nil` when every file has ended.
    mutating func next() throws(StorageError) -> ReadRecord? {
        while fileIndex < paths.count {
            if window == nil { try openWindow() }
            do {
                if let record = try decodeNext() { return record }
            } catch {
                closeWindow()
                fileIndex = paths.count
                throw error
            }
            if isLastFile { endOfLastFile = offset }
            closeWindow()
            fileIndex += 1
        }
        return nil
    }

    /// Opens the current file. Out of line: once per file, and ``next()`` stays small enough
    /// to be inlined into the replay loops.
    @inline(never)
    private mutating func openWindow() throws(StorageError) {
        let entryData: EntryDataMode = entryBodies == .metadata ? .skip : .copy
        window = try SegmentWindow(
            path: paths[fileIndex], fileSystem: fileSystem, buffer: spareBuffer, entryData: entryData,
            sharesBytes: entryBodies == .shared && codec.sharesEntryData)
        spareBuffer = []
        offset = resumeAt ?? 0
        resumeAt = nil
    }

    private mutating func closeWindow() {
        if var window {
            window.close()
            spareBuffer = window.takeBuffer()
        }
        window = nil
    }

    /// Decodes the record at `offset` of the current file, or returns `nil` at its end.
    private mutating func decodeNext() throws(StorageError) -> ReadRecord? {
        let last = isLastFile
        let start = offset
        // The path is only read when an error needs it: copying a String per record costs a
        // retain and a release on the replay's hot path.
        let remaining = window!.size - start
        if remaining == 0 { return nil }
        guard remaining >= 8, try window!.load(start..<(start + 8)) else {
            throw try truncated(last, "\(remaining) bytes left, too few for a length word", at: start, frameEnd: start + 8, bodyEnd: start + 8)
        }
        let base = window!.start
        let word = window!.withBytes { raw in UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start - base, as: UInt64.self)) }
        if word == 0 {
            // In a sealed segment too: it was cut at its end, so intact records after a zero
            // word there mean the word was damaged.
            if checksTail { try checkEndOfLog(at: start) }
            return nil
        }
        let (length, padding) = Framing.decode(word: word)
        guard length + padding <= UInt64(remaining - 8) else {
            // Past the end of the file: where the frame would end does not matter beyond that.
            let claimedEnd = window!.size + 8
            throw try truncated(
                last, "record of \(length) bytes is larger than the rest of the file (\(remaining - 8) bytes)",
                at: start, frameEnd: claimedEnd, bodyEnd: claimedEnd)
        }
        let frameEnd = start + 8 + Int(length) + Int(padding)
        guard try window!.load(start..<frameEnd) else {
            throw try truncated(last, "the file is shorter than its size said", at: start, frameEnd: window!.size + 8, bodyEnd: window!.size + 8)
        }
        let frame = (start - window!.start)..<(frameEnd - window!.start)
        let body = (frame.lowerBound + 8)..<(frame.lowerBound + 8 + Int(length))
        let context = FrameContext(start: start)
        let crcBefore = crc
        var running = crc
        let decoded: (body: ReadRecord.Body, checksum: UInt32)
        do throws(StorageError) {
            let codec = self.codec
            decoded = try window!.withBytes { (raw, entryData) throws(StorageError) in
                try Self.decode(raw, body, codec: codec, entryData: entryData, running: &running, context: context)
            }
        } catch {
            // Errors from decoding name the record's offset; the file is added here.
            var located = error.at(path: window!.path)
            if start == 0 && fileIndex > 0 && error.code == .crcMismatch {
                located.message += " (the running CRC comes from \(paths[fileIndex - 1]): records at its end may be lost, or this record is damaged)"
            }
            guard last && checksTail else { throw located }
            throw try classifyTailFailure(at: start, frameEnd: frameEnd, bodyEnd: start + 8 + Int(length), cause: located)
        }
        crc = running
        offset = frameEnd
        return ReadRecord(fileIndex: fileIndex, offset: start, frameSize: frameEnd - start, checksum: decoded.checksum, crcBefore: crcBefore, body: decoded.body)
    }

    /// Where the frame being decoded lies, for errors.
    private struct FrameContext {
        /// The frame's offset in the file.
        var start: Int
    }

    /// Decodes the record in `raw[body]` through the codec's
    /// ``RaftFiles/RecordCodec/decodeLogRecord(_:entryData:)`` and verifies its checksum.
    @inline(__always)
    private static func decode(
        _ raw: UnsafeRawBufferPointer, _ body: Range<Int>, codec: Codec, entryData: EntryDataMode, running: inout UInt32,
        context: FrameContext
    ) throws(StorageError) -> (body: ReadRecord.Body, checksum: UInt32) {
        let bytes = UnsafeRawBufferPointer(rebasing: raw[body])
        let decoded: DecodedLogRecord
        do throws(StorageError) {
            decoded = try codec.decodeLogRecord(bytes, entryData: entryData)
        } catch {
            throw decodeFailure(error, raw, context: context)
        }
        let isCRC: Bool
        if case .other(.crc) = decoded.body { isCRC = true } else { isCRC = false }
        if !isCRC {
            guard decoded.payload.lowerBound >= 0, decoded.payload.upperBound <= bytes.count else {
                throw StorageError(.corrupt, "codec reported a payload outside the record", offset: Int64(context.start))
            }
        }
        let payload = isCRC ? UnsafeRawBufferPointer(rebasing: bytes[0..<0]) : UnsafeRawBufferPointer(rebasing: bytes[decoded.payload])
        try verify(isCRC, checksum: decoded.checksum, payload: payload, raw, running: &running, context: context)
        // A codec that breaks the requirement and returns an entry as `other` is still read right.
        if case .other(.entry(let entry)) = decoded.body { return (.entry(entry), decoded.checksum) }
        return (decoded.body, decoded.checksum)
    }

    /// A record that does not decode: the codec's error located in the file.
    private static func decodeFailure(_ error: StorageError, _ raw: UnsafeRawBufferPointer, context: FrameContext) -> StorageError {
        var located = error
        located.offset = Int64(context.start + 8) + (error.offset ?? 0)
        located.message += " (record at offset \(context.start))"
        return located
    }

    /// The CRC rules: a crc record carries the running value (or starts it), every other
    /// record's payload continues it and must match what the record stores.
    @inline(__always)
    private static func verify(
        _ isCRC: Bool, checksum: UInt32, payload: UnsafeRawBufferPointer, _ raw: UnsafeRawBufferPointer,
        running: inout UInt32, context: FrameContext
    ) throws(StorageError) {
        if isCRC {
            guard running == 0 || running == checksum else {
                throw StorageError(.crcMismatch, "wal: crc mismatch: crc record holds \(hex(checksum)), running crc is \(hex(running))", offset: Int64(context.start))
            }
            running = checksum
            return
        }
        let computed = CRC32C.update(running, payload)
        guard computed == checksum else {
            throw StorageError(.crcMismatch, "walpb: crc mismatch: record stores \(hex(checksum)), computed \(hex(computed))", offset: Int64(context.start))
        }
        running = computed
    }

    /// A frame the file ends inside: in the last file the tail rule decides between a torn
    /// write and damage; in an earlier one later segments exist, so it is lost data.
    private func truncated(_ last: Bool, _ detail: String, at start: Int, frameEnd: Int, bodyEnd: Int) throws(StorageError) -> StorageError {
        let path = window!.path
        guard last else {
            return StorageError(.corrupt, "segment ends inside a record, but later segments exist: \(detail)", path: path, offset: Int64(start))
        }
        let cause = StorageError(.unexpectedEnd, "unexpected end of WAL: \(detail)", path: path, offset: Int64(start))
        guard checksTail else { return cause }
        return try classifyTailFailure(at: start, frameEnd: frameEnd, bodyEnd: bodyEnd, cause: cause)
    }
}
