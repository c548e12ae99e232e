/// How a durable log frames each record a ``RecordCodec`` encodes (Docs/OnDiskFormat.md,
/// "Record framing"): etcd's WAL framing.
///
/// ```
/// +---------------------------+-------------------------+--------------------+
/// | length word: 8 bytes, LE  | record (codec's bytes)  | 0..7 zero bytes    |
/// +---------------------------+-------------------------+--------------------+
/// ```
///
/// Bits 0..55 of the length word are the record's length *n*. When *n* is not a multiple of 8
/// the record is followed by `padding = 8 - n % 8` zero bytes and the word's top byte is
/// `0x80 | padding`; otherwise the top byte is 0. Frames are therefore multiples of 8 bytes.
/// A length word of 0 means "no more records in this file".
///
/// The log's checksum chain is CRC32C (``CRC32C``): each record's payload continues the running
/// value, and the value after it is what the record stores (see
/// ``append(_:encodedBy:crc:to:)``). The framing is part of the contract of
/// ``RecordCodec/frameEntries(_:into:crc:byteBudget:)``, which writes whole frames.
public enum RecordFraming {
    /// The size of a length word: 8 bytes.
    @inlinable
    public static var lengthWordSize: Int { 8 }

    /// The bits of a length word that hold the record's length (bits 0..55).
    @inlinable
    public static var lengthMask: UInt64 { 0x00FF_FFFF_FFFF_FFFF }

    /// The number of zero bytes after a record of `length` bytes (`length` at least 0): what
    /// makes the frame a multiple of 8.
    @inlinable
    public static func padding(forRecordLength length: Int) -> Int {
        (8 - (length & 7)) & 7
    }

    /// The size of the whole frame of a record of `length` bytes: length word, record, padding.
    @inlinable
    public static func frameSize(forRecordLength length: Int) -> Int {
        lengthWordSize + length + padding(forRecordLength: length)
    }

    /// The length word of a record of `length` bytes (below 2^56): the length, and when the
    /// record is padded, `0x80 | padding` in the top byte. Store it little-endian.
    @inlinable
    public static func lengthWord(forRecordLength length: Int) -> UInt64 {
        let zeros = padding(forRecordLength: length)
        var word = UInt64(length) & lengthMask
        if zeros > 0 { word |= UInt64(0x80 | zeros) << 56 }
        return word
    }

    /// The record length and padding a length word announces: bits 0..55, and the low three
    /// bits of the top byte when its high bit is set (0 otherwise). Nothing else is checked.
    @inlinable
    public static func decode(lengthWord word: UInt64) -> (length: UInt64, padding: UInt64) {
        let zeros = word & (1 << 63) != 0 ? (word >> 56) & 7 : 0
        return (word & lengthMask, zeros)
    }

    /// Appends the frame of `record`, a codec's encoding: length word, the bytes, padding.
    @inlinable
    public static func append(frameOf record: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        let word = lengthWord(forRecordLength: record.count)
        withUnsafeBytes(of: word.littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: record)
        buffer.append(contentsOf: repeatElement(0, count: padding(forRecordLength: record.count)))
    }

    /// Appends one framed record as a log writes it without a fast path: `codec` encodes
    /// `record` right after a length word, the payload continues the running CRC32C `crc`
    /// (which the record stores), and the frame is padded.
    ///
    /// This is the reference for ``RecordCodec/frameEntries(_:into:crc:byteBudget:)``:
    /// a run of entries framed there is byte for byte what this appends for each of them, with
    /// the same `crc` afterwards.
    @inlinable
    public static func append<Codec: RecordCodec>(_ record: LogRecord, encodedBy codec: Codec, crc: inout UInt32, to buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: lengthWordSize))
        codec.encode(record, into: &buffer) { payload in
            crc = CRC32C.update(crc, payload)
            return crc
        }
        let length = buffer.count - start - lengthWordSize
        buffer.append(contentsOf: repeatElement(0, count: padding(forRecordLength: length)))
        let word = lengthWord(forRecordLength: length)
        for byte in 0..<lengthWordSize { buffer[start + byte] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(byte))) }
    }
}
