import CLZ4
public import RaftStorage
public import RaftFiles

/// A record codec that LZ4-compresses large entry payloads and leaves everything else to `Base`.
///
/// Entries whose data is at least ``threshold`` bytes (8 KiB by default, raft-engine's
/// `batch_compression_threshold`) are stored compressed when that saves space. Every entry with
/// data carries one marker byte in front of it, inside the base codec's encoding:
///
///     00 <data>                                  stored as is
///     01 <varint: data size> <LZ4 block>         compressed
///
/// Entries without data, HardStates, snapshot markers, metadata and whole snapshots go through
/// `Base` unchanged (snapshot files are compressed by `LZ4SnapshotStore` instead).
///
/// `Base`'s fast paths are used when it has them: entries are wrapped and then framed by
/// `Base`'s ``RaftFiles/RecordCodec/frameEntries(_:into:crc:byteBudget:)``, and records
/// read by its ``RaftFiles/RecordCodec/decodeLogRecord(_:entryData:)`` (entries read for their
/// index and term only are not decompressed).
///
/// A log written with this codec is not etcd's format: its ``formatName`` (`lz4+` and the base's
/// name, `lz4+etcd` over `ProtobufRecordCodec`) is recorded in the log, and a log refuses to open
/// with a codec of another name (``RaftStorage/StorageError/Code/codecMismatch``), so neither codec misreads
/// the other's entries.
///
/// Decoding never trusts the stored size: the LZ4 block is first walked to find the size it
/// really decodes to (without writing anything), and only that size, which must equal the stored
/// one, is allocated.
///
/// It wraps the codec that frames the records; for a WAL in etcd's framing with compressed
/// entry data:
///
/// ```swift
/// let log = try WALLogStore.open(at: "data/wal", codec: LZ4RecordCodec(base: ProtobufRecordCodec()))
/// ```
public struct LZ4RecordCodec<Base: RecordCodec>: RecordCodec {
    /// The codec that encodes the records around the (possibly compressed) entry data.
    public let base: Base
    /// Entry data of at least this many bytes is compressed, when that makes it smaller.
    public let threshold: Int
    /// liblz4's acceleration: 1 is its default; higher is faster and compresses less.
    public let acceleration: Int32

    /// The largest entry data this codec decodes (1 GiB); larger stored sizes are corruption.
    public static var maxDataSize: Int { 1 << 30 }

    /// - Parameters:
    ///   - base: encodes the records; `ProtobufRecordCodec` for etcd's framing.
    ///   - threshold: the smallest entry data to compress; 8 KiB by default.
    ///   - acceleration: liblz4's speed/ratio trade-off, 1 (the default) or more.
    public init(base: Base, threshold: Int = 8 << 10, acceleration: Int32 = 1) {
        self.base = base
        self.threshold = max(1, threshold)
        self.acceleration = max(1, acceleration)
    }

    /// `lz4+` and the base codec's name (`etcd` for etcd's own format).
    public var formatName: String? { "lz4+" + (base.formatName ?? "etcd") }

    /// Encodes `record` with `Base`, entry data wrapped (and above the threshold compressed).
    public func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        guard case .entry(var entry) = record, let data = entry.data else {
            return base.encode(record, into: &buffer, checksum: checksum)
        }
        entry.data = wrap(data)
        base.encode(.entry(entry), into: &buffer, checksum: checksum)
    }

    /// Decodes with `Base`, then unwraps entry data.
    ///
    /// - Throws: ``StorageError/Code/corrupt`` for entry data without a valid marker or whose
    ///   compressed form is malformed or does not decode to its stored size; what `Base` throws.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord {
        var decoded = try base.decode(bytes)
        guard case .entry(var entry) = decoded.record, let data = entry.data else { return decoded }
        entry.data = try unwrap(data)
        decoded.record = .entry(entry)
        return decoded
    }

    /// `Base`'s fast path over the entries with their data wrapped (and above the threshold
    /// compressed), or `nil` when `Base` has none; see
    /// ``RaftFiles/RecordCodec/frameEntries(_:into:crc:byteBudget:)``.
    ///
    /// Entries are wrapped a chunk at a time, about as many as the room and the budget left
    /// can take, and each chunk is handed to `Base` in one call: the frames are exactly those
    /// of ``encode(_:into:checksum:)``'s records.
    public func frameEntries(
        _ entries: UnsafeBufferPointer<Entry>, into buffer: UnsafeMutableRawBufferPointer, crc: inout UInt32, byteBudget: Int
    ) -> FramedEntries? {
        // Whether `Base` has a fast path does not depend on the arguments: ask with nothing.
        var probe = crc
        guard base.frameEntries(UnsafeBufferPointer(start: nil, count: 0), into: UnsafeMutableRawBufferPointer(start: nil, count: 0), crc: &probe, byteBudget: 0) != nil else {
            return nil
        }
        var result = FramedEntries(entryCount: 0, byteCount: 0, storedCount: 0)
        var wrapped: [Entry] = []
        while result.entryCount < entries.count {
            let room = buffer.count - result.byteCount
            // Enough wrapped entries for `Base` to reach the budget or fill the room (frames
            // are at least as long as their data), at least one.
            let target = result.byteCount < byteBudget ? min(room, byteBudget - result.byteCount) : 0
            wrapped.removeAll(keepingCapacity: true)
            var wrappedBytes = 0
            var next = result.entryCount
            repeat {
                var entry = entries[next]
                if let data = entry.data { entry.data = wrap(data) }
                wrappedBytes += (entry.data?.count ?? 0) + 16
                wrapped.append(entry)
                next += 1
            } while next < entries.count && wrappedBytes < target
            let start = result.byteCount
            let chunk = wrapped.withUnsafeBufferPointer { wrapped in
                base.frameEntries(
                    wrapped, into: UnsafeMutableRawBufferPointer(rebasing: buffer[start...]), crc: &crc,
                    byteBudget: byteBudget - start)
            }
            guard let chunk else { return nil }
            guard chunk.entryCount > 0 else {
                // Nothing more fits; when nothing did at all, say how much room the first needs.
                if result.entryCount == 0 { result.neededCount = chunk.neededCount }
                break
            }
            result.entryCount += chunk.entryCount
            result.byteCount += chunk.byteCount
            result.storedCount = max(result.storedCount, start + chunk.storedCount)
            // `Base` stopped for the budget or for room, not for the end of the chunk.
            if chunk.entryCount < wrapped.count || result.byteCount >= byteBudget { break }
        }
        result.storedCount = max(result.storedCount, result.byteCount)
        return result
    }

    /// `Base`'s reading of the record, then entry data unwrapped; see
    /// ``RaftFiles/RecordCodec/decodeLogRecord(_:entryData:)``. Entries read for their index
    /// and term only are not unwrapped (nor is their marker checked).
    ///
    /// - Throws: what `decode(_:)` throws; with ``RaftFiles/EntryDataMode/skip``, what `Base`
    ///   throws.
    public func decodeLogRecord(_ bytes: UnsafeRawBufferPointer, entryData: EntryDataMode) throws(StorageError) -> DecodedLogRecord {
        var decoded = try base.decodeLogRecord(bytes, entryData: entryData)
        guard case .entry(var entry) = decoded.body, let data = entry.data else { return decoded }
        entry.data = try unwrap(data)
        decoded.body = .entry(entry)
        return decoded
    }

    /// `Base`'s snapshot encoding, unchanged.
    public func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) {
        base.encodeSnapshot(snapshot, into: &buffer)
    }

    /// `Base`'s snapshot decoding, unchanged.
    public func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot {
        try base.decodeSnapshot(bytes)
    }

    /// `Base`'s snapshot framing, unchanged.
    public func snapshotFraming(of snapshot: Snapshot) -> SnapshotFraming? {
        base.snapshotFraming(of: snapshot)
    }

    /// `Base`'s streaming snapshot encoder.
    public func makeSnapshotEncoder(metadata: SnapshotMetadata, dataCount: Int) -> (any SnapshotStreamEncoder)? {
        base.makeSnapshotEncoder(metadata: metadata, dataCount: dataCount)
    }

    /// `Base`'s streaming snapshot decoder.
    public func makeSnapshotDecoder() -> (any SnapshotStreamDecoder)? {
        base.makeSnapshotDecoder()
    }

    // MARK: - Entry data

    private enum Marker: UInt8 {
        case stored = 0
        case lz4 = 1
    }

    func wrap(_ data: [UInt8]) -> [UInt8] {
        if data.count >= threshold && data.count <= Self.maxDataSize, let compressed = compress(data) {
            return compressed
        }
        var stored: [UInt8] = []
        stored.reserveCapacity(data.count + 1)
        stored.append(Marker.stored.rawValue)
        stored.append(contentsOf: data)
        return stored
    }

    /// `01 <varint size> <block>`, or `nil` when that is not smaller than storing.
    private func compress(_ data: [UInt8]) -> [UInt8]? {
        var header: [UInt8] = [Marker.lz4.rawValue]
        var size = UInt64(data.count)
        while size >= 0x80 {
            header.append(UInt8(truncatingIfNeeded: size) | 0x80)
            size >>= 7
        }
        header.append(UInt8(size))
        let bound = Int(LZ4_compressBound(Int32(data.count)))
        var output = [UInt8](repeating: 0, count: header.count + bound)
        let compressed = output.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { input in
                LZ4_compress_fast(
                    input.baseAddress?.assumingMemoryBound(to: CChar.self), UnsafeMutableRawBufferPointer(rebasing: out[header.count...]).baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32(input.count), Int32(bound), acceleration)
            }
        }
        guard compressed > 0, header.count + Int(compressed) < data.count + 1 else { return nil }
        output.replaceSubrange(0..<header.count, with: header)
        output.removeLast(bound - Int(compressed))
        return output
    }

    func unwrap(_ stored: [UInt8]) throws(StorageError) -> [UInt8] {
        guard let first = stored.first else {
            throw StorageError(.corrupt, "entry data has no LZ4 codec marker: was the log written by another codec?")
        }
        switch Marker(rawValue: first) {
        case .stored:
            return Array(stored[1...])
        case .lz4:
            return try stored.withRawBytes { (raw) throws(StorageError) in try decompress(raw) }
        case nil:
            throw StorageError(.corrupt, "unknown LZ4 codec marker \(first) in entry data")
        }
    }

    private func decompress(_ stored: UnsafeRawBufferPointer) throws(StorageError) -> [UInt8] {
        var position = 1
        var size: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < stored.count, shift < 64 else {
                throw StorageError(.corrupt, "malformed size of compressed entry data")
            }
            let byte = stored[position]
            position += 1
            size |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        let block = UnsafeRawBufferPointer(rebasing: stored[position...])
        guard size <= UInt64(Self.maxDataSize) else {
            throw StorageError(.corrupt, "compressed entry data claims \(size) bytes, over the \(Self.maxDataSize)-byte limit")
        }
        let expected = Int(size)
        let actual = try LZ4BlockScan.decodedSize(of: block, limit: expected)
        guard actual == expected else {
            throw StorageError(.corrupt, "compressed entry data decodes to \(actual) bytes, not the \(expected) stored")
        }
        return try [UInt8](unsafeUninitializedCapacity: expected) { (buffer, count) throws(StorageError) in
            let written = LZ4_decompress_safe(
                block.baseAddress?.assumingMemoryBound(to: CChar.self), UnsafeMutableRawBufferPointer(buffer).baseAddress?.assumingMemoryBound(to: CChar.self), Int32(block.count), Int32(expected))
            guard written == Int32(expected) else {
                throw StorageError(.corrupt, "compressed entry data does not decompress")
            }
            count = expected
        }
    }
}

/// Walks an LZ4 block's sequences to learn how many bytes it decodes to, without decoding it,
/// checking on the way that every length and match offset stays inside what the block holds and
/// produces.
enum LZ4BlockScan {
    /// The decoded size of `block`.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for a malformed block, or one that would decode
    ///   to more than `limit` bytes (the walk stops there).
    static func decodedSize(of block: UnsafeRawBufferPointer, limit: Int) throws(StorageError) -> Int {
        let malformed = StorageError(.corrupt, "malformed LZ4 block in entry data")
        let count = block.count
        var input = 0
        var output = 0
        while true {
            guard input < count else { throw malformed }
            let token = block[input]
            input += 1
            var literals = Int(token >> 4)
            if literals == 15 { literals += try extendedLength(block, &input, malformed) }
            guard literals <= count - input else { throw malformed }
            input += literals
            output += literals
            guard output <= limit else { throw StorageError(.corrupt, "LZ4 block decodes to more than the \(limit) bytes stored") }
            if input == count { return output }
            guard count - input >= 2 else { throw malformed }
            let offset = Int(block[input]) | Int(block[input + 1]) << 8
            input += 2
            guard offset > 0, offset <= output else { throw malformed }
            var match = Int(token & 15)
            if match == 15 { match += try extendedLength(block, &input, malformed) }
            output += match + 4
            guard output <= limit else { throw StorageError(.corrupt, "LZ4 block decodes to more than the \(limit) bytes stored") }
        }
    }

    /// The bytes after a 15 in a token: added while they are 255.
    private static func extendedLength(_ block: UnsafeRawBufferPointer, _ input: inout Int, _ malformed: StorageError) throws(StorageError) -> Int {
        var total = 0
        while true {
            guard input < block.count else { throw malformed }
            let byte = Int(block[input])
            input += 1
            total += byte
            if byte != 255 { return total }
        }
    }
}
