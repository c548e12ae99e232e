import RaftStorage
import RaftFiles

/// Reads one log file's records in order, through a read-ahead buffer, and tells a record
/// that cannot be read from the end of the records.
///
/// The buffer is reused from record to record: a record's body is handed out as a range of it,
/// read from the file once and never copied (a fresh array per read cost a quarter of an
/// open's time). Nothing is allocated for a length word before it is checked against the bytes
/// the file really has.
struct RecordScanner {
    let file: any StorageFile
    let path: String
    let size: Int64
    /// Bytes of the file from `bufferStart`; only the first `bufferCount` are valid.
    private var buffer: [UInt8] = []
    private var bufferStart: Int64 = 0
    private var bufferCount = 0
    /// The least a fresh read fetches: about the size of a core's L2 cache here, so the bytes
    /// the kernel copies in are still there when they are checked and decoded.
    static let chunk = 1 << 20
    /// How near the front of the buffer a request may start and still be met by extending it.
    static let extendWithin = 64 << 10

    /// Whether records' checksums are checked; off only for a file whose checksums were all
    /// checked already (``ChecksumPrecheck``).
    let checksChecksums: Bool

    init(file: any StorageFile, path: String, size: Int64, checksChecksums: Bool = true) {
        self.file = file
        self.path = path
        self.size = size
        self.checksChecksums = checksChecksums
    }

    /// What is at an offset where a record may start.
    enum Found {
        /// A record whose checksum matches: where its body is in the buffer (``withBuffer(_:)``,
        /// valid until the next read), and where the next record starts.
        case record(body: Range<Int>, next: Int64)
        /// No more records: the file ends here, or only zeros follow.
        case end
        /// Bytes that are no intact record.
        case bad(StorageError, lengthFits: Bool)
    }

    /// Puts the bytes at `offset ..< offset + count` (fewer only at the end of the file) in the
    /// buffer and returns where they are in it.
    ///
    /// A request starting near the front of the buffer (a record's body after its header) is
    /// met by reading only what is missing after what the buffer holds; any other is met by a
    /// fresh read at `offset` of at least a chunk. So every byte of the file is read about once
    /// and nothing is moved within the buffer, which stays about a chunk (or one record) long.
    mutating func load(at offset: Int64, count: Int) throws(StorageError) -> Range<Int> {
        let available = Int(max(0, min(Int64(count), size - offset)))
        if offset >= bufferStart, offset + Int64(available) <= bufferStart + Int64(bufferCount) {
            let start = Int(offset - bufferStart)
            return start..<(start + available)
        }
        let from: Int
        if offset >= bufferStart, offset - bufferStart <= Int64(Self.extendWithin), offset <= bufferStart + Int64(bufferCount) {
            from = Int(offset - bufferStart)
        } else {
            // A chunk ahead, but never more than the file has: small files get small buffers.
            bufferStart = offset
            bufferCount = 0
            from = 0
        }
        let wanted = from == 0 ? max(available, Int(min(Int64(Self.chunk), size - offset))) : from + available
        if buffer.count < wanted { buffer.append(contentsOf: [UInt8](repeating: 0, count: wanted - buffer.count)) }
        let missing = wanted - bufferCount
        if missing > 0 {
            let start = bufferCount
            let read = try buffer.withMutableRawBytes { (raw) throws(StorageError) in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + missing)]), at: bufferStart + Int64(start))
            }
            bufferCount += read
        }
        return from..<min(from + available, bufferCount)
    }

    /// Runs `body` on the buffer's valid bytes (the ranges ``load(at:count:)`` and
    /// ``record(at:)`` return index them).
    func withBuffer<Result, Failure: Error>(_ body: (UnsafeRawBufferPointer) throws(Failure) -> Result) throws(Failure) -> Result {
        let count = bufferCount
        return try buffer.withRawBytes { (raw) throws(Failure) in try body(UnsafeRawBufferPointer(rebasing: raw[..<count])) }
    }

    /// Up to `count` bytes at `offset` (fewer only at the end of the file), copied out.
    mutating func bytes(at offset: Int64, count: Int) throws(StorageError) -> [UInt8] {
        let range = try load(at: offset, count: count)
        return Array(buffer[range])
    }

    /// The record at `offset`.
    mutating func record(at offset: Int64) throws(StorageError) -> Found {
        if offset >= size { return .end }
        let headerRange = try load(at: offset, count: LogFileFormat.recordHeaderSize)
        guard headerRange.count == LogFileFormat.recordHeaderSize else {
            return try isZero(from: offset) ? .end : .bad(StorageError(.unexpectedEnd, "record header cut short", path: path, offset: offset), lengthFits: false)
        }
        let length = buffer.littleEndian(at: headerRange.lowerBound, count: 4)
        let stored = UInt32(truncatingIfNeeded: buffer.littleEndian(at: headerRange.lowerBound + 4, count: 4))
        if length == 0 {
            return try isZero(from: offset) ? .end : .bad(StorageError(.corrupt, "record with a zero length", path: path, offset: offset), lengthFits: false)
        }
        let bodyStart = offset + Int64(LogFileFormat.recordHeaderSize)
        guard length <= UInt64(LogFileFormat.maxBodySize), Int64(length) <= size - bodyStart else {
            return .bad(StorageError(.unexpectedEnd, "record of \(length) bytes runs past the end of the file (\(size) bytes)", path: path, offset: offset), lengthFits: false)
        }
        let body = try load(at: bodyStart, count: Int(length))
        let matches = !checksChecksums || withBuffer { raw in CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[body])) == stored }
        guard body.count == Int(length), matches else {
            return .bad(StorageError(.crcMismatch, "record checksum mismatch", path: path, offset: offset), lengthFits: true)
        }
        return .record(body: body, next: LogFileFormat.nextRecord(after: offset, bodyCount: Int(length)))
    }

    /// Whether every byte from `offset` to the end of the file is zero.
    mutating func isZero(from offset: Int64) throws(StorageError) -> Bool {
        var position = offset
        while position < size {
            let chunk = try load(at: position, count: Self.chunk)
            if chunk.isEmpty { return true }
            if withBuffer({ raw in raw[chunk].contains { $0 != 0 } }) { return false }
            position += Int64(chunk.count)
        }
        return true
    }

    /// The first aligned offset after `offset` where an intact record starts, if any: the
    /// sign that a bad record is damage rather than a write cut short.
    mutating func intactRecord(after offset: Int64) throws(StorageError) -> Int64? {
        // Zeros at the end (written ahead of the records) hold no record: the search stops at
        // the last non-zero byte, and skips zero length words, so each byte is looked at a few
        // times, not once per candidate behind it.
        let written = try endOfNonZeroBytes(from: offset)
        var candidate = offset + Int64(LogFileFormat.alignment)
        while candidate + Int64(LogFileFormat.recordHeaderSize) < written {
            if let length = try claimedLength(at: candidate), length > 0, case .record = try record(at: candidate) {
                let header = try bytes(at: candidate, count: LogFileFormat.recordHeaderSize + 1)
                // A real record's body starts with a known kind.
                if header.count > LogFileFormat.recordHeaderSize, header[LogFileFormat.recordHeaderSize] == LogFileFormat.batchKind {
                    return candidate
                }
            }
            candidate += Int64(LogFileFormat.alignment)
        }
        return nil
    }

    /// Where the bytes after `offset` end once only zeros follow (`offset` when all are zeros).
    private mutating func endOfNonZeroBytes(from offset: Int64) throws(StorageError) -> Int64 {
        var end = offset
        var position = offset
        while position < size {
            let chunk = try load(at: position, count: Self.chunk)
            if chunk.isEmpty { break }
            if let last = withBuffer({ raw in raw[chunk].lastIndex { $0 != 0 } }) {
                end = position + Int64(last - chunk.lowerBound) + 1
            }
            position += Int64(chunk.count)
        }
        return end
    }

    /// The body length the record at `offset` claims, when its header is there and the length
    /// is one a record may have.
    private mutating func claimedLength(at offset: Int64) throws(StorageError) -> Int? {
        let header = try load(at: offset, count: LogFileFormat.recordHeaderSize)
        guard header.count == LogFileFormat.recordHeaderSize else { return nil }
        let length = buffer.littleEndian(at: header.lowerBound, count: 4)
        return length <= UInt64(LogFileFormat.maxBodySize) ? Int(length) : nil
    }

    /// Where the record at `offset` ends by its length word (padding included), when its
    /// header is there.
    mutating func recordEnd(at offset: Int64) throws(StorageError) -> Int64? {
        try claimedLength(at: offset).map { LogFileFormat.nextRecord(after: offset, bodyCount: $0) }
    }

    /// Whether the record at `offset`, whose length fits the file, reached the disk whole: no
    /// 512-byte sector inside it is all zeros and its last byte is not zero. A write cut short
    /// leaves zeros where it stopped; wrong bytes without such zeros are damage.
    mutating func looksWhole(at offset: Int64) throws(StorageError) -> Bool {
        guard let length = try claimedLength(at: offset) else { return false }
        let end = offset + Int64(LogFileFormat.recordHeaderSize) + Int64(length)
        guard end <= size, end > offset else { return false }
        let last = try bytes(at: end - 1, count: 1)
        guard last.first.map({ $0 != 0 }) ?? false else { return false }
        var sector = (offset + 511) / 512 * 512
        while sector + 512 <= end {
            if try bytes(at: sector, count: 512).allSatisfy({ $0 == 0 }) { return false }
            sector += 512
        }
        return true
    }
}
