import CCRC32C
import RaftStorage

/// A whole framed `walpb.Record` of type entry, written in one pass through a raw pointer: the
/// write path's hot loop (``PageWriter/append(entries:codec:crc:)``).
///
/// The bytes are exactly what ``ProtobufRecordCodec`` and ``Framing`` produce (a test checks
/// it): length word, `08 02 10 <crc> 1a <length>`, the `raftpb.Entry` payload, zero padding.
/// The record's `crc` field comes before the payload it covers, so the payload is written
/// where it would be if the crc varint took its usual 5 bytes (15 of 16 CRC values do), and in
/// the rare other case the payload moves back a few bytes.
enum EntryFrame {
    /// Bytes ``write(_:at:crc:)`` may touch for `entry` (before trimming): a bound, not the size.
    @inline(__always)
    static func maximumSize(of entry: borrowing Entry) -> Int {
        maximumSize(payloadCount: payloadSize(of: entry))
    }

    /// ``maximumSize(of:)`` for a payload of `payloadCount` bytes.
    @inline(__always)
    static func maximumSize(payloadCount: Int) -> Int {
        // Length word + `08 02 10` + crc (5) + `1a` + length varint (10) + payload + slack for
        // the padding's 8-byte store and the field headers' two 8-byte stores.
        8 + 3 + 5 + 1 + 10 + payloadCount + 16
    }

    /// `entry.encodedSize`, inlined here: the core's property is not inlinable across modules.
    @inline(__always)
    static func payloadSize(of entry: borrowing Entry) -> Int {
        var size = 3 + varintLength(UInt64(bitPattern: Int64(entry.type.rawValue)))
            + varintLength(entry.term) + varintLength(entry.index)
        if let count = entry.data?.count { size += 1 + varintLength(UInt64(count)) + count }
        return size
    }

    /// Writes `entry`'s frame at `start`, continuing the running CRC; returns the frame's size.
    @inline(__always)
    static func write(_ entry: borrowing Entry, at start: UnsafeMutableRawPointer, crc: inout UInt32) -> Int {
        let payloadCount = payloadSize(of: entry)
        let header = writePayload(entry, payloadCount: payloadCount, frame: start)
        return finish(frame: start, payloadCount: payloadCount, header: header, crc: &crc)
    }

    /// The payload's field headers (everything but the data bytes), when they fit in 16 bytes:
    /// kept in registers so the CRC need not read them back from bytes just stored, which
    /// stalls the CPU (a load spanning several recent stores cannot be forwarded from them).
    struct Header {
        var low: UInt64
        var high: UInt64
        var count: Int
        var dataCount: Int
    }

    /// Writes the `raftpb.Entry` payload (of ``payloadSize(of:)`` bytes) where it goes with a
    /// 5-byte crc varint; returns its field headers when they fit in two words.
    ///
    /// Kept apart from ``finish(frame:payloadCount:header:crc:)`` so the borrow of `entry` ends
    /// before the CRC call: across an opaque C call the compiler would otherwise retain
    /// `entry.data`.
    @inline(__always)
    static func writePayload(_ entry: borrowing Entry, payloadCount: Int, frame start: UnsafeMutableRawPointer) -> Header? {
        let payload = start + 8 + 3 + 5 + 1 + varintLength(UInt64(payloadCount))
        let dataCount = entry.data?.count
        if let header = headerWords(entry, dataCount: dataCount) {
            payload.storeBytes(of: header.low.littleEndian, as: UInt64.self)
            (payload + 8).storeBytes(of: header.high.littleEndian, as: UInt64.self)
            entry.data?.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { (payload + header.count).copyMemory(from: base, byteCount: bytes.count) }
            }
            return header
        }
        var position = payload
        position.storeByte(1 << 3)
        position = storeVarint(UInt64(bitPattern: Int64(entry.type.rawValue)), at: position)
        position.storeByte(2 << 3)
        position = storeVarint(entry.term, at: position)
        position.storeByte(3 << 3)
        position = storeVarint(entry.index, at: position)
        if let count = dataCount {
            position.storeByte(4 << 3 | 2)
            position = storeVarint(UInt64(count), at: position)
            entry.data?.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { position.copyMemory(from: base, byteCount: bytes.count) }
            }
        }
        return nil
    }

    /// `08 <type> 10 <term> 18 <index> [22 <length>]` as two little-endian words, or `nil` when
    /// a varint is longer than five bytes or the whole is longer than 16.
    @inline(__always)
    private static func headerWords(_ entry: borrowing Entry, dataCount: Int?) -> Header? {
        guard let type = varintWord(UInt64(bitPattern: Int64(entry.type.rawValue))),
              let term = varintWord(entry.term), let index = varintWord(entry.index) else { return nil }
        var words = UInt128(1 << 3)
        var count = 1
        words |= UInt128(type.word) << (8 * count)
        count += type.count
        words |= UInt128(2 << 3) << (8 * count)
        count += 1
        words |= UInt128(term.word) << (8 * count)
        count += term.count
        words |= UInt128(3 << 3) << (8 * count)
        count += 1
        words |= UInt128(index.word) << (8 * count)
        count += index.count
        if let dataCount {
            guard let length = varintWord(UInt64(dataCount)), count + 1 + length.count <= 16 else { return nil }
            words |= UInt128(4 << 3 | 2) << (8 * count)
            count += 1
            words |= UInt128(length.word) << (8 * count)
            count += length.count
        }
        guard count <= 16 else { return nil }
        return Header(low: UInt64(truncatingIfNeeded: words), high: UInt64(truncatingIfNeeded: words >> 64), count: count, dataCount: dataCount ?? 0)
    }

    /// A varint of up to five bytes as the little-endian word holding it, or `nil` when longer.
    @inline(__always)
    private static func varintWord(_ value: UInt64) -> (word: UInt64, count: Int)? {
        if value < 0x80 { return (value, 1) }
        guard value < 1 << 35 else { return nil }
        let count = varintLength(value)
        var word = value & 0x7F
        word |= (value >> 7 & 0x7F) << 8
        word |= (value >> 14 & 0x7F) << 16
        word |= (value >> 21 & 0x7F) << 24
        word |= (value >> 28 & 0x7F) << 32
        // Continuation bits on every byte but the last.
        word |= 0x80_8080_8080 & ((1 << (8 * UInt64(count - 1))) &- 1)
        return (word, count)
    }

    /// Checksums the payload ``writePayload(_:payloadCount:frame:)`` wrote, then writes the
    /// record header, padding and length word around it; returns the frame's size.
    @inline(__always)
    static func finish(frame start: UnsafeMutableRawPointer, payloadCount: Int, header fields: Header?, crc: inout UInt32) -> Int {
        let lengthVarint = varintLength(UInt64(payloadCount))
        var payload = start + 8 + 3 + 5 + 1 + lengthVarint
        if let fields {
            crc = ccrc32c_update_words(crc, fields.low, fields.high, fields.count, payload + fields.count, fields.dataCount)
        } else {
            crc = ccrc32c_update(crc, payload, payloadCount)
        }
        let crcVarint = varintLength(UInt64(crc))
        if crcVarint < 5 {
            let shorter = payload - (5 - crcVarint)
            shorter.copyMemory(from: payload, byteCount: payloadCount)
            payload = shorter
        }
        var header = start + 8
        header.storeByte(1 << 3)
        header.storeByte(UInt8(WALRecordType.entry.rawValue))
        header.storeByte(2 << 3)
        header = storeVarint(UInt64(crc), at: header)
        header.storeByte(3 << 3 | 2)
        header = storeVarint(UInt64(payloadCount), at: header)

        let recordCount = 3 + crcVarint + 1 + lengthVarint + payloadCount
        let padding = (8 - recordCount % 8) % 8
        var word = UInt64(recordCount)
        // Zero the padding with one store (``maximumSize(payloadCount:)`` leaves room for it).
        (start + 8 + recordCount).storeBytes(of: 0, as: UInt64.self)
        if padding > 0 { word |= UInt64(0x80 | padding) << 56 }
        start.storeBytes(of: word.littleEndian, as: UInt64.self)
        return 8 + recordCount + padding
    }

    @inline(__always)
    private static func storeVarint(_ value: UInt64, at pointer: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        var value = value
        var pointer = pointer
        while value >= 0x80 {
            pointer.storeByte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        pointer.storeByte(UInt8(value))
        return pointer
    }
}

extension UnsafeMutableRawPointer {
    /// Stores `byte` and advances past it.
    @inline(__always)
    fileprivate mutating func storeByte(_ byte: UInt8) {
        storeBytes(of: byte, as: UInt8.self)
        self += 1
    }
}

