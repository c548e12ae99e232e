import RaftStorage
import RaftFiles

/// A segment file read through a window that grows only as far as records are read.
///
/// Reading stops at the first zero length word, so the preallocated zero tail of a 64 MB
/// segment is never read, and memory stays at one chunk or one record, bounded by the file's
/// real size whatever a length word claims. The buffer is reused from chunk to chunk and from
/// file to file (``takeBuffer()``), so a replay allocates it once.
///
/// A window that shares its bytes (``sharesBytes``) reads each chunk into a new
/// ``RaftStorage/EntryBuffer`` instead, of ``sharedChunk`` bytes: entries decoded from it keep
/// their data there, so a chunk is never written again once read.
struct SegmentWindow {
    static let chunk = 1 << 20
    /// Two 2 MiB pages: few page faults for the bytes entries keep.
    static let sharedChunk = 4 << 20

    let path: String
    let size: Int
    let file: any StorageFile
    /// Whether chunks are read into new ``RaftStorage/EntryBuffer``s (see ``entryData``).
    let sharesBytes: Bool
    /// `buffer[0..<valid]` holds the file's bytes from `start`; the rest is scratch.
    private var buffer: [UInt8]
    /// The mode a codec reads entries from the loaded bytes in: for a window that shares its
    /// bytes, ``RaftFiles/EntryDataMode/share(_:)`` of the chunk read last
    /// (`bytes[0..<valid]`), which holds them. Kept here, and handed to the codec as it is, so
    /// that the reader neither retains the chunk once more per record nor needs a second call
    /// site (which stopped the decoder from being inlined).
    private(set) var entryData: EntryDataMode
    /// The bytes of the chunk in ``entryData``, kept apart so that reading them does not take
    /// the chunk out of the enum (a retain and a release per record).
    private var chunkBytes: UnsafeRawBufferPointer?
    private(set) var valid = 0
    private(set) var start = 0

    init(
        path: String, fileSystem: any FileSystem, buffer: [UInt8] = [], entryData: EntryDataMode = .copy, sharesBytes: Bool = false
    ) throws(StorageError) {
        self.path = path
        self.buffer = buffer
        self.entryData = entryData
        self.sharesBytes = sharesBytes
        file = try fileSystem.open(path, .read, permissions: 0)
        do {
            size = Int(try file.size())
        } catch {
            try? file.close()
            throw error
        }
    }

    func close() { try? file.close() }

    /// Gives the buffer to the next file's window.
    mutating func takeBuffer() -> [UInt8] {
        defer { buffer = [] }
        return buffer.count > 4 * Self.chunk ? [] : buffer
    }

    /// Makes `range` (which lies within the file's size) readable through
    /// ``withBytes(_:)``; returns false when the file turned out shorter than its size said.
    @inline(__always)
    mutating func load(_ range: Range<Int>) throws(StorageError) -> Bool {
        // Twice per record, almost always already loaded: the check inlined, the read not.
        if range.lowerBound >= start && range.upperBound <= start + valid { return true }
        return try read(range)
    }

    /// ``load(_:)`` of a range not loaded yet.
    @inline(never)
    private mutating func read(_ range: Range<Int>) throws(StorageError) -> Bool {
        let file = self.file
        let offset = Int64(range.lowerBound)
        if sharesBytes {
            let count = min(max(range.count, Self.sharedChunk), size - range.lowerBound, EntryBuffer.maximumCapacity)
            let chunk = try EntryBuffer(capacity: count) { (raw) throws(StorageError) in try file.read(into: raw, at: offset) }
            entryData = .share(chunk)
            chunkBytes = chunk.bytes
            valid = chunk.bytes.count
            start = range.lowerBound
            return range.upperBound <= start + valid
        }
        let count = min(max(range.count, Self.chunk), size - range.lowerBound)
        if buffer.count < count {
            // The first chunk, or one record larger than a chunk; never more than the file holds.
            buffer = [UInt8](repeating: 0, count: count)
        }
        valid = try buffer.withMutableRawBytes { (raw) throws(StorageError) in
            try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<count]), at: offset)
        }
        start = range.lowerBound
        return range.upperBound <= start + valid
    }

    /// The loaded bytes; the first is at file offset ``start``.
    @inline(__always)
    func withBytes<Result, Failure: Error>(_ body: (UnsafeRawBufferPointer) throws(Failure) -> Result) throws(Failure) -> Result {
        try withBytes { (raw, _) throws(Failure) in try body(raw) }
    }

    /// The loaded bytes, and the mode entries are read from them in: ``entryData``.
    @inline(__always)
    func withBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer, borrowing EntryDataMode) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let valid = self.valid
        if let chunkBytes { return try body(UnsafeRawBufferPointer(rebasing: chunkBytes[0..<valid]), entryData) }
        return try buffer.withRawBytes { (raw) throws(Failure) in try body(UnsafeRawBufferPointer(rebasing: raw[0..<valid]), entryData) }
    }
}
