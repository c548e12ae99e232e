import RaftStorage

/// Buffers a segment's writes so the OS sees whole 4 KiB pages (etcd's `PageWriter`,
/// etcd-storage-spec 1.8.2).
///
/// Records are encoded straight into `buffer`. Once it holds 128 KiB or more, every complete
/// page (by absolute file offset) is written and the partial page stays buffered, so until an
/// explicit ``flush()`` each write ends on a page boundary. That narrows what a torn write can
/// leave behind; the format does not depend on it.
struct PageWriter {
    static let pageSize = 4096
    static let watermark = 128 * 1024

    let file: any StorageFile
    /// Where `buffer[0]` goes in the file: everything before it has been written.
    private(set) var flushedOffset: Int64
    var buffer: [UInt8]
    /// Bytes handed to the file system since the last call to ``takeWrittenCount()``.
    private var written: Int = 0

    init(file: any StorageFile, offset: Int64) {
        self.file = file
        self.flushedOffset = offset
        self.buffer = []
        buffer.reserveCapacity(Self.watermark + Self.pageSize)
    }

    /// The offset just past everything appended, flushed or not.
    var endOffset: Int64 { flushedOffset + Int64(buffer.count) }

    /// Appends one framed record.
    @inline(__always)
    mutating func append<Codec: RecordCodec>(_ record: LogRecord, codec: Codec, crc: inout UInt32) throws(StorageError) {
        Framing.append(record, codec: codec, crc: &crc, to: &buffer)
        if buffer.count >= Self.watermark { try writeWholePages() }
    }

    /// Writes every buffered byte that ends on a page boundary.
    private mutating func writeWholePages() throws(StorageError) {
        let end = flushedOffset + Int64(buffer.count)
        let count = buffer.count - Int(end % Int64(Self.pageSize))
        guard count > 0 else { return }
        try write(count)
    }

    /// Writes everything buffered.
    mutating func flush() throws(StorageError) {
        guard !buffer.isEmpty else { return }
        try write(buffer.count)
    }

    private mutating func write(_ count: Int) throws(StorageError) {
        let offset = flushedOffset
        let file = self.file
        try buffer.withRawBytes { (raw) throws(StorageError) in
            try file.write(UnsafeRawBufferPointer(rebasing: raw[0..<count]), at: offset)
        }
        flushedOffset += Int64(count)
        written += count
        buffer.removeSubrange(0..<count)
        // A huge record grew the buffer; give the memory back.
        if buffer.capacity > 4 * Self.watermark {
            var fresh: [UInt8] = []
            fresh.reserveCapacity(Self.watermark + Self.pageSize)
            fresh.append(contentsOf: buffer)
            buffer = fresh
        }
    }

    /// The number of bytes written since the last call, for the bytes-written metric.
    mutating func takeWrittenCount() -> Int {
        defer { written = 0 }
        return written
    }
}
