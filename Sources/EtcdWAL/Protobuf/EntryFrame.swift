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
        // Length word + `08 02 10` + crc (5) + `1a` + length varint (10) + payload + padding
        // (written as one 8-byte store, as are the payload's varints).
        8 + 3 + 5 + 1 + 10 + payloadCount + 8
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
        writePayload(entry, payloadCount: payloadCount, frame: start)
        return finish(frame: start, payloadCount: payloadCount, crc: &crc)
    }

    /// Writes the `raftpb.Entry` payload (of ``payloadSize(of:)`` bytes) where it goes with a
    /// 5-byte crc varint.
    ///
    /// Kept apart from ``finish(frame:payloadCount:crc:)`` so the borrow of `entry` ends before
    /// the CRC call: across an opaque C call the compiler would otherwise retain `entry.data`.
    @inline(__always)
    static func writePayload(_ entry: borrowing Entry, payloadCount: Int, frame start: UnsafeMutableRawPointer) {
        var position = start + 8 + 3 + 5 + 1 + varintLength(UInt64(payloadCount))
        position.storeByte(1 << 3)
        position = storeVarintWide(UInt64(bitPattern: Int64(entry.type.rawValue)), at: position)
        position.storeByte(2 << 3)
        position = storeVarintWide(entry.term, at: position)
        position.storeByte(3 << 3)
        position = storeVarintWide(entry.index, at: position)
        if let count = entry.data?.count {
            position.storeByte(4 << 3 | 2)
            position = storeVarintWide(UInt64(count), at: position)
            entry.data?.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { position.copyMemory(from: base, byteCount: bytes.count) }
            }
        }
    }

    /// Checksums the payload ``writePayload(_:frame:)`` wrote, then writes the record header,
    /// padding and length word around it; returns the frame's size.
    @inline(__always)
    static func finish(frame start: UnsafeMutableRawPointer, payloadCount: Int, crc: inout UInt32) -> Int {
        let lengthVarint = varintLength(UInt64(payloadCount))
        var payload = start + 8 + 3 + 5 + 1 + lengthVarint
        crc = ccrc32c_update(crc, payload, payloadCount)
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
        // Zero the padding with one store (``maximumSize(of:)`` leaves room for all 8 bytes).
        (start + 8 + recordCount).storeBytes(of: 0, as: UInt64.self)
        if padding > 0 { word |= UInt64(0x80 | padding) << 56 }
        start.storeBytes(of: word.littleEndian, as: UInt64.self)
        return 8 + recordCount + padding
    }

    /// Stores a varint of up to five bytes with one 8-byte store (so up to 7 bytes after it
    /// are overwritten: only where the frame's later bytes or its slack go); longer ones byte
    /// by byte. Returns the position after it.
    @inline(__always)
    private static func storeVarintWide(_ value: UInt64, at pointer: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        if value < 0x80 {
            pointer.storeBytes(of: UInt8(value), as: UInt8.self)
            return pointer + 1
        }
        guard value < 1 << 35 else { return storeVarint(value, at: pointer) }
        let count = varintLength(value)
        var word = value & 0x7F
        word |= (value >> 7 & 0x7F) << 8
        word |= (value >> 14 & 0x7F) << 16
        word |= (value >> 21 & 0x7F) << 24
        word |= (value >> 28 & 0x7F) << 32
        // Continuation bits on every byte but the last.
        word |= 0x80_8080_8080 & ((1 << (8 * UInt64(count - 1))) &- 1)
        pointer.storeBytes(of: word.littleEndian, as: UInt64.self)
        return pointer + count
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

