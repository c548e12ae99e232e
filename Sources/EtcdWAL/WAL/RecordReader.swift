public import RaftStorage

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

/// Reads framed records across segment files with etcd's decoder rules (etcd-storage-spec 1.9).
///
/// - A zero length word or the end of a file at a frame boundary ends that file.
/// - Every non-crc record continues the running CRC32C with its payload and must match the
///   value it stores; a crc record must match the running value unless that is 0 (so reading
///   can start at any segment), and then replaces it.
/// - In the **last** file, a record that does not fit in the rest of the file, does not decode
///   or fails its CRC, and has an all-zero 512-byte sector, is a torn write:
///   ``RaftStorage/StorageError/Code/unexpectedEnd`` at the record's offset (what repair cuts off).
///   A record running past the end of an earlier file is ``RaftStorage/StorageError/Code/corrupt``: later
///   segments exist, so this is lost data, not a torn tail.
///
/// Segments are read through a ``SegmentWindow``: chunk by chunk, never past the first zero
/// length word.
struct RecordReader<Codec: RecordCodec> {
    let codec: Codec
    let fileSystem: any FileSystem
    let paths: [String]
    private var fileIndex = 0
    private var window: SegmentWindow?
    /// Offset in the current file just past the last good record (etcd's `lastValidOff`).
    private(set) var offset = 0
    /// The running CRC32C of all payloads read so far.
    private(set) var crc: UInt32 = 0
    /// Where reading ended in the last file, once it has been reached and finished.
    private(set) var endOfLastFile: Int?

    init(codec: Codec, fileSystem: any FileSystem, paths: [String]) {
        self.codec = codec
        self.fileSystem = fileSystem
        self.paths = paths
    }

    private var isLastFile: Bool { fileIndex == paths.count - 1 }

    /// The next record, or `nil` when every file has ended.
    mutating func next() throws(StorageError) -> WALRecordInfo? {
        while fileIndex < paths.count {
            if window == nil {
                window = try SegmentWindow(path: paths[fileIndex], fileSystem: fileSystem)
                offset = 0
            }
            do {
                if let info = try decodeNext() { return info }
            } catch {
                window?.close()
                window = nil
                fileIndex = paths.count
                throw error
            }
            if isLastFile { endOfLastFile = offset }
            window?.close()
            window = nil
            fileIndex += 1
        }
        return nil
    }

    /// Decodes the record at `offset` of the current file, or returns `nil` at its end.
    private mutating func decodeNext() throws(StorageError) -> WALRecordInfo? {
        let last = isLastFile
        let start = offset
        let path = window!.path
        let remaining = window!.size - start
        if remaining == 0 { return nil }
        guard remaining >= 8, try window!.load(start..<(start + 8)) else {
            throw Self.truncated(last, "\(remaining) bytes left, too few for a length word", path: path, offset: start)
        }
        let word = window!.bytes.withUnsafeBytes { raw in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start - window!.start, as: UInt64.self))
        }
        if word == 0 { return nil }
        let (length, padding) = Framing.decode(word: word)
        guard length + padding <= UInt64(remaining - 8) else {
            throw Self.truncated(last, "record of \(length) bytes is larger than the rest of the file (\(remaining - 8) bytes)", path: path, offset: start)
        }
        let frameEnd = start + 8 + Int(length) + Int(padding)
        guard try window!.load(start..<frameEnd) else {
            throw Self.truncated(last, "the file is shorter than its size said", path: path, offset: start)
        }
        let base = window!.start
        let codec = self.codec
        var running = crc
        let info: WALRecordInfo = try window!.bytes.withRawBytes { (raw) throws(StorageError) in
            let body = (start + 8 - base)..<(start + 8 - base + Int(length))
            let frame = body.lowerBound..<(frameEnd - base)
            let bytes = UnsafeRawBufferPointer(rebasing: raw[body])
            let decoded: DecodedRecord
            do throws(StorageError) {
                decoded = try codec.decode(bytes)
            } catch {
                if last && Self.looksTorn(raw, frame, fileOffset: base) {
                    throw StorageError(.unexpectedEnd, "torn write: record does not decode and has a zeroed sector", path: path, offset: Int64(start))
                }
                var located = error.at(path: path, offset: Int64(start + 8) + (error.offset ?? 0))
                located.message += " (record at offset \(start))"
                throw located
            }
            if case .crc(let stored) = decoded.record {
                guard running == 0 || running == stored else {
                    throw StorageError(.crcMismatch, "wal: crc mismatch: crc record holds \(hex(stored)), running crc is \(hex(running))", path: path, offset: Int64(start))
                }
                running = stored
            } else {
                guard decoded.payload.upperBound <= bytes.count else {
                    throw StorageError(.corrupt, "codec reported a payload outside the record", path: path, offset: Int64(start))
                }
                let computed = CRC32C.update(running, UnsafeRawBufferPointer(rebasing: bytes[decoded.payload]))
                guard computed == decoded.checksum else {
                    if last && Self.looksTorn(raw, frame, fileOffset: base) {
                        throw StorageError(.unexpectedEnd, "torn write: crc mismatch and a zeroed sector", path: path, offset: Int64(start))
                    }
                    throw StorageError(.crcMismatch, "walpb: crc mismatch: record stores \(hex(decoded.checksum)), computed \(hex(computed))", path: path, offset: Int64(start))
                }
                running = computed
            }
            return WALRecordInfo(path: path, offset: Int64(start), frameSize: frameEnd - start, record: decoded.record, checksum: decoded.checksum)
        }
        crc = running
        offset = frameEnd
        return info
    }

    private static func truncated(_ last: Bool, _ detail: String, path: String, offset: Int) -> StorageError {
        if last { return StorageError(.unexpectedEnd, "unexpected end of WAL: \(detail)", path: path, offset: Int64(offset)) }
        return StorageError(.corrupt, "segment ends inside a record, but later segments exist: \(detail)", path: path, offset: Int64(offset))
    }

    /// etcd's `isTornEntry`: cut the frame's bytes at 512-byte sector boundaries (by file
    /// offset); if any piece is all zeros, the sectors only partly reached the disk.
    /// `range` indexes `raw`, whose first byte is at `fileOffset` in the file.
    static func looksTorn(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, fileOffset: Int) -> Bool {
        let sector = 512
        var pieceStart = range.lowerBound
        while pieceStart < range.upperBound {
            let pieceEnd = min(range.upperBound, ((fileOffset + pieceStart) / sector + 1) * sector - fileOffset)
            if raw[pieceStart..<pieceEnd].allSatisfy({ $0 == 0 }) { return true }
            pieceStart = pieceEnd
        }
        return false
    }
}
