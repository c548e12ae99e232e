import RaftStorage
import RaftFiles

/// Buffers a segment's writes so the OS sees writes of whole 128 KiB pieces (etcd's
/// `PageWriter` does the same with 4 KiB pages; Docs/OnDiskFormat.md, Writing, syncing and
/// cutting).
///
/// Records are framed straight into `storage`. Once they reach the second 128 KiB boundary of
/// the file after where they start, everything before the last boundary they reach is written
/// and the rest stays buffered, so until an explicit ``flush(paddingWithin:)`` each write ends
/// on a page boundary. That narrows what a torn write can leave behind; the format does not
/// depend on it. Writes that start and end on 128 KiB boundaries also let the kernel put them
/// in large page-cache folios: fresh pages cost it half as much as for writes shifted by one
/// page (measured on ext4, Linux 6.18: 128 MB in 16 ms against 28 ms), which is most of what
/// an append without fsync costs the kernel.
///
/// `storage` is always fully initialised (its count is its capacity) and `used` says how much of
/// it is pending: frames are then written through one pointer per batch, without the capacity
/// and uniqueness checks of a byte-by-byte `append` (the write path's hot loop, see
/// `Docs/Performance.md`).
struct PageWriter {
    static let pageSize = 4096
    /// Writes, but the first after a flush, start and end on multiples of this in the file.
    static let watermark = 128 * 1024

    let file: any StorageFile
    /// Where `storage[0]` goes in the file: everything before it has been written.
    private(set) var flushedOffset: Int64
    private var storage: [UInt8]
    /// Bytes of `storage` waiting to be written.
    private(set) var used = 0
    /// Past this index `storage` holds only zeros (frames store a few bytes past their end).
    private var dirtyEnd = 0
    /// The file's size when zeros were first written ahead (``preallocatedSize()``).
    private var fileSize: Int64?
    /// Where records are encoded first when the codec does not frame them itself.
    private var scratch: [UInt8] = []
    /// Bytes handed to the file system since the last call to ``takeWrittenCount()``.
    private var written: Int = 0
    /// Where the blocks written by this writer, records or zeros, end (see ``zeroAhead(window:limit:)``).
    private(set) var writtenThrough: Int64

    /// A writer appending at `offset`; the blocks up to `writtenThrough` (at least `offset`)
    /// are known to have been written.
    init(file: any StorageFile, offset: Int64, writtenThrough: Int64 = 0) {
        self.file = file
        self.flushedOffset = offset
        self.writtenThrough = max(offset, writtenThrough)
        self.storage = [UInt8](repeating: 0, count: 2 * Self.watermark + 2 * Self.pageSize)
    }

    /// The offset just past everything appended, flushed or not.
    var endOffset: Int64 { flushedOffset + Int64(used) }

    /// Appends one framed record.
    mutating func append<Codec: RecordCodec>(_ record: LogRecord, codec: Codec, crc: inout UInt32) throws(StorageError) {
        scratch.removeAll(keepingCapacity: true)
        Framing.append(record, codec: codec, crc: &crc, to: &scratch)
        reserve(scratch.count)
        let at = used
        scratch.withUnsafeBytes { source in
            storage.withUnsafeMutableBytes { target in
                target.baseAddress!.advanced(by: at).copyMemory(from: source.baseAddress!, byteCount: source.count)
            }
        }
        used += scratch.count
        dirtyEnd = max(dirtyEnd, used)
        if used >= bytesToBoundary { try writeToBoundary() }
        if scratch.capacity > 4 * Self.watermark { scratch = [] }
    }

    /// Appends one framed entry record per entry, in order.
    ///
    /// Runs of entries go to the codec's fast path, ``RaftFiles/RecordCodec/frameEntries(_:into:crc:byteBudget:)``,
    /// one call per run: it frames them straight into the buffer (etcd's codec: one copy of
    /// each payload, one CRC pass, no intermediate array). A codec without one goes record by
    /// record through ``append(_:codec:crc:)``.
    ///
    /// - Returns: the highest index among `entries` (0 when empty).
    mutating func append<Codec: RecordCodec>(entries: [Entry], codec: Codec, crc: inout UInt32) throws(StorageError) -> UInt64 {
        var highest: UInt64 = 0
        var next = 0
        while next < entries.count {
            // Frame entries up to the second 128 KiB boundary of the file, then write up to the last one.
            var running = crc
            let at = used
            let budget = bytesToBoundary - at
            let first = next
            let written: FramedEntries? = storage.withUnsafeMutableBytes { raw in
                entries.withUnsafeBufferPointer { entries in
                    codec.frameEntries(
                        UnsafeBufferPointer(rebasing: entries[first...]), into: UnsafeMutableRawBufferPointer(rebasing: raw[at...]),
                        crc: &running, byteBudget: budget)
                }
            }
            guard let written else {
                // No fast path: every remaining entry through the codec's `encode`.
                for entry in entries[next...] {
                    try append(.entry(entry), codec: codec, crc: &crc)
                    highest = max(highest, entry.index)
                }
                return highest
            }
            guard written.entryCount > 0 else {
                let room = storage.count - used
                if written.neededCount > room {
                    reserve(written.neededCount)
                } else {
                    // The codec wrote nothing and asked for no more room than it had: this
                    // entry through its `encode`, so the loop always advances.
                    try append(.entry(entries[next]), codec: codec, crc: &crc)
                    highest = max(highest, entries[next].index)
                    next += 1
                }
                continue
            }
            // A codec's report is checked, not trusted: a wrong count would move the buffer's
            // end outside what was written. Nothing is used from this run, so the log is unchanged.
            guard written.byteCount > 0, written.byteCount <= storage.count - at,
                  written.storedCount >= 0, written.storedCount <= storage.count - at else {
                throw StorageError(
                    .invariantViolation,
                    "\(Codec.self).frameEntries reported \(written.byteCount) bytes written and \(written.storedCount) stored in a buffer of \(storage.count - at)")
            }
            let end = next + min(written.entryCount, entries.count - next)
            for index in next..<end { highest = max(highest, entries[index].index) }
            next = end
            crc = running
            used = at + written.byteCount
            // Frames may store a few bytes past their end (wide stores).
            dirtyEnd = max(dirtyEnd, at + max(written.storedCount, written.byteCount))
            if used >= bytesToBoundary { try writeToBoundary() }
        }
        return highest
    }

    /// Makes room for `count` more bytes after `used`.
    private mutating func reserve(_ count: Int) {
        let needed = used + count
        guard needed > storage.count else { return }
        storage.append(contentsOf: repeatElement(0, count: max(needed, 2 * storage.count) - storage.count))
    }

    /// How many buffered bytes make a write worth making: up to the second multiple of
    /// ``watermark`` in the file after the records' end, so a write covers at least one whole
    /// 128 KiB (and a save of up to 128 KiB takes one write, with its flush).
    private var bytesToBoundary: Int {
        2 * Self.watermark - Int(flushedOffset % Int64(Self.watermark))
    }

    /// Writes every buffered byte before the last multiple of ``watermark`` in the file.
    private mutating func writeToBoundary() throws(StorageError) {
        let end = flushedOffset + Int64(used)
        let count = Int(end - end % Int64(Self.watermark) - flushedOffset)
        guard count > 0 else { return }
        try write(count)
    }

    /// Writes everything buffered.
    ///
    /// With a `limit` above 0, when the records end past the blocks written so far, the same write
    /// goes on with zeros up to the next multiple of ``watermark`` in the file (never past
    /// `limit` nor the file's size), so every 128 KiB of the file is first written by one write
    /// that covers all of it: the kernel then fills it with large folios, and the records that
    /// follow overwrite cached pages (``WALOptions/zeroFillAhead`` without fsync). Zeros are
    /// what the preallocated blocks read as: the file's contents are the same.
    mutating func flush(paddingWithin limit: Int64 = 0) throws(StorageError) {
        guard used > 0 else { return }
        let end = flushedOffset + Int64(used)
        let watermark = Int64(Self.watermark)
        let boundary = limit > 0 ? min((end + watermark - 1) / watermark * watermark, limit, try preallocatedSize()) : 0
        guard end > writtenThrough, boundary > end else { return try write(used) }
        let padding = Int(boundary - end)
        reserve(padding)
        let zeroFrom = used, zeroTo = min(used + padding, dirtyEnd)
        if zeroFrom < zeroTo {
            storage.withUnsafeMutableBytes { raw in
                _ = (raw.baseAddress! + zeroFrom).initializeMemory(as: UInt8.self, repeating: 0, count: zeroTo - zeroFrom)
            }
        }
        if zeroTo == dirtyEnd { dirtyEnd = used }
        try write(used + padding, consuming: used)
    }

    /// Writes the first `count` buffered bytes, of which the first `consumed` (all by default)
    /// are records and the rest zeros ahead of them.
    private mutating func write(_ count: Int, consuming consumed: Int? = nil) throws(StorageError) {
        let offset = flushedOffset
        let file = self.file
        try storage.withRawBytes { (raw) throws(StorageError) in
            try file.write(UnsafeRawBufferPointer(rebasing: raw[0..<count]), at: offset)
        }
        writtenThrough = max(writtenThrough, offset + Int64(count))
        written += count
        let count = consumed ?? count
        flushedOffset += Int64(count)
        let remaining = used - count
        if remaining > 0 {
            storage.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + count, byteCount: remaining)
            }
        }
        used = remaining
        // A huge record grew the buffer; give the memory back.
        if storage.count > 4 * Self.watermark && used <= Self.watermark {
            var fresh = [UInt8](repeating: 0, count: 2 * Self.watermark + 2 * Self.pageSize)
            fresh.withUnsafeMutableBytes { target in
                storage.withUnsafeBytes { source in
                    target.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: remaining)
                }
            }
            storage = fresh
            dirtyEnd = remaining
        }
    }

    /// After a ``flush(paddingWithin:)``: when fewer than half a `window` of written blocks are
    /// left ahead of the records, writes zeros over the next `window` bytes, within the file's
    /// size and `limit` (the preallocated size), so the fdatasyncs that follow overwrite
    /// written blocks (``WALOptions/zeroFillAhead``). Zeros are what the preallocated space reads as,
    /// so the segment's contents are the same, whatever part of them a crash keeps.
    mutating func zeroAhead(window: Int64, limit: Int64) throws(StorageError) {
        let end = flushedOffset + Int64(used)
        let window = min(window, limit)
        guard used == 0, window > 0, writtenThrough < limit, writtenThrough - end < window / 2 else { return }
        let pageSize = Int64(Self.pageSize)
        var offset = max(writtenThrough, (end + pageSize - 1) / pageSize * pageSize)
        let wanted = offset + window
        let stop = min(limit, wanted, try preallocatedSize())
        let file = self.file
        while offset < stop {
            let count = Int(min(Int64(zeroChunk.count), stop - offset))
            try zeroChunk.withRawBytes { (raw) throws(StorageError) in
                try file.write(UnsafeRawBufferPointer(rebasing: raw[0..<count]), at: offset)
            }
            offset += Int64(count)
            written += count
        }
        // Once the end of the file or `limit` cuts a window short, nothing is left to zero.
        writtenThrough = stop < wanted ? .max : max(writtenThrough, stop)
    }

    /// The file's size the first time zeros are written ahead: they never go past it, as they
    /// are to overwrite allocated blocks, not to allocate more. Records that go past it later
    /// (a save that crosses the segment size before the cut) do not move it.
    private mutating func preallocatedSize() throws(StorageError) -> Int64 {
        if let fileSize { return fileSize }
        let size = try file.size()
        fileSize = size
        return size
    }

    /// Stops ``zeroAhead(window:limit:)`` for the rest of this segment.
    mutating func stopZeroing() {
        writtenThrough = .max
    }

    /// The number of bytes written since the last call, for the bytes-written metric.
    mutating func takeWrittenCount() -> Int {
        defer { written = 0 }
        return written
    }
}

/// The source of ``PageWriter/zeroAhead(window:limit:)``'s writes.
private let zeroChunk = [UInt8](repeating: 0, count: 1 << 20)
