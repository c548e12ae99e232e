import RaftStorage
import RaftFiles

// The engine's files, byte for byte as `Docs/OnDiskFormat.md` ("The multi-group log") lays
// them out: a header naming the file, then records, each 8-byte aligned.

/// Names, header and record framing of the engine's log files.
enum LogFileFormat {
    /// The first bytes of every log file.
    static let magic: [UInt8] = Array("RAFTMLOG".utf8)
    /// The format version this code writes. It reads 1 too: version 1 has no purge records
    /// (``purgeKind``), so a directory whose oldest file is of version 1 cannot tell a file a
    /// purge removed from a lost one.
    static let version: UInt32 = 2
    static let oldestReadableVersion: UInt32 = 1
    /// The header's size; the first record starts here.
    static let headerSize = 40
    /// A record's length and checksum words.
    static let recordHeaderSize = 8
    /// Records start at multiples of this, so a search for an intact record after a bad one
    /// has few places to look.
    static let alignment = 8
    /// The body kind byte of a write batch, version 1.
    static let batchKind: UInt8 = 1
    /// The body kind byte of a purge record: the number of the oldest log file kept, written
    /// (durably) before a purge removes a file, so that opening can tell a lost file from a
    /// removed one.
    static let purgeKind: UInt8 = 2
    /// The largest record body accepted (and written): a length word above it is damage.
    static let maxBodySize = 1 << 30
    /// The extension of log files; `.tmp` follows it while a new file is written.
    static let fileExtension = ".rlog"
    static let temporarySuffix = ".tmp"
    /// The lock file every open engine holds.
    static let lockFileName = "LOCK"
    /// Left by an engine whose write or sync failed: the last file may hold bytes only the
    /// page cache has, and the next open writes them again.
    static let tailNotDurableName = "tail-not-durable.tmp"

    /// `0000000000000001.rlog`: the file number as 16 lower-case hex digits.
    static func fileName(_ number: UInt64) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for shift in stride(from: 60, through: 0, by: -4) {
            text.append(digits[Int((number >> UInt64(shift)) & 0xF)])
        }
        return text + fileExtension
    }

    /// The number of a log file's name; `nil` for any other name.
    static func fileNumber(_ name: String) -> UInt64? {
        guard name.hasSuffix(fileExtension) else { return nil }
        let digits = name.dropLast(fileExtension.count)
        guard digits.count == 16, let number = UInt64(digits, radix: 16), fileName(number) == name else { return nil }
        return number
    }

    /// Where the record after one starting at `offset` with a body of `bodyCount` bytes starts.
    static func nextRecord(after offset: Int64, bodyCount: Int) -> Int64 {
        let end = offset + Int64(recordHeaderSize + bodyCount)
        let mask = Int64(alignment - 1)
        return (end + mask) & ~mask
    }

    // MARK: - The newest file, in the lock file

    /// The lock file's content: the number of the newest log file the engine created, u64
    /// LE, then a CRC32C of those 8 bytes, u32 LE, then 4 zero bytes. Written (and fsynced)
    /// after each new file is durably in place, so that opening can tell a lost newest file
    /// (or all of them) from one never created.
    static func encodeNewest(_ number: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(number, count: 8)
        bytes.appendLittleEndian(UInt64(CRC32C.checksum(bytes)), count: 4)
        bytes.appendLittleEndian(0, count: 4)
        return bytes
    }

    /// The newest file number a lock file's content records; `nil` for anything else (an empty
    /// lock file, as engines before this record wrote, or content that does not verify).
    static func decodeNewest(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == newestRecordSize else { return nil }
        let number = bytes.littleEndian(at: 0, count: 8)
        guard CRC32C.checksum(Array(bytes[0..<8])) == UInt32(truncatingIfNeeded: bytes.littleEndian(at: 8, count: 4)) else { return nil }
        return number
    }

    static let newestRecordSize = 16

    // MARK: - Header

    /// What a file's header says.
    struct Header: Equatable {
        /// The file's own number (it must match its name).
        var fileNumber: UInt64
        /// The size of the file before it when this one was created: every byte of that one
        /// up to here is records. 0 for the first file.
        var previousSize: UInt64
        /// The format version the file was written in.
        var version: UInt32 = LogFileFormat.version
    }

    /// `magic`, version, 4 reserved zero bytes, file number, previous file's size, CRC32C of
    /// the 32 bytes before it, 4 zero bytes: 40 bytes.
    static func encodeHeader(_ header: Header) -> [UInt8] {
        var bytes = magic
        bytes.appendLittleEndian(UInt64(header.version), count: 4)
        bytes.appendLittleEndian(0, count: 4)
        bytes.appendLittleEndian(header.fileNumber, count: 8)
        bytes.appendLittleEndian(header.previousSize, count: 8)
        bytes.appendLittleEndian(UInt64(CRC32C.checksum(bytes)), count: 4)
        bytes.appendLittleEndian(0, count: 4)
        return bytes
    }

    /// Reads a header; `path` names the file in errors.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for a short file, a foreign magic or
    ///   an unknown version, ``RaftStorage/StorageError/Code/crcMismatch`` for a checksum that
    ///   does not match.
    static func decodeHeader(_ bytes: [UInt8], path: String) throws(StorageError) -> Header {
        guard bytes.count >= headerSize else {
            throw StorageError(.corrupt, "log file is \(bytes.count) bytes, shorter than its \(headerSize)-byte header", path: path, offset: 0)
        }
        guard Array(bytes[0..<8]) == magic else {
            throw StorageError(.corrupt, "not a multi-group log file (bad magic)", path: path, offset: 0)
        }
        let stored = UInt32(truncatingIfNeeded: bytes.littleEndian(at: 32, count: 4))
        guard CRC32C.checksum(Array(bytes[0..<32])) == stored else {
            throw StorageError(.crcMismatch, "log file header checksum mismatch", path: path, offset: 32)
        }
        let version = bytes.littleEndian(at: 8, count: 4)
        guard (UInt64(oldestReadableVersion)...UInt64(Self.version)).contains(version) else {
            throw StorageError(
                .corrupt, "log file format version \(version) is not supported (this code reads \(oldestReadableVersion) to \(Self.version))",
                path: path, offset: 8)
        }
        return Header(
            fileNumber: bytes.littleEndian(at: 16, count: 8), previousSize: bytes.littleEndian(at: 24, count: 8), version: UInt32(version))
    }
}

extension Array where Element == UInt8 {
    /// Appends the low `count` bytes of `value`, least significant first.
    /// Appends what `store` writes through a pointer, at most `bound` bytes.
    mutating func appendStoring(atMost bound: Int, _ store: (inout UnsafeMutableRawPointer) -> Void) {
        let start = count
        append(contentsOf: repeatElement(0, count: bound))
        let written = withUnsafeMutableBytes { raw in
            var position = raw.baseAddress! + start
            store(&position)
            return position - (raw.baseAddress! + start)
        }
        removeLast(bound - written)
    }

    mutating func appendLittleEndian(_ value: UInt64, count: Int) {
        for byte in 0..<count { append(UInt8(truncatingIfNeeded: value >> UInt64(byte * 8))) }
    }

    /// The `count`-byte little-endian number at `offset`; the caller checked the bounds.
    func littleEndian(at offset: Int, count: Int) -> UInt64 {
        var value: UInt64 = 0
        for byte in 0..<count { value |= UInt64(self[offset + byte]) << UInt64(byte * 8) }
        return value
    }
}
