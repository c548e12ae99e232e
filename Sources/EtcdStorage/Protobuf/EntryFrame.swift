import CCRC32C
import RaftStorage
import RaftFiles

/// etcd's entry record encoder: the one place `walpb.Record`s of type entry are written, framed
/// into a log's buffer (``writeRun(_:into:crc:byteBudget:)``, ``ProtobufRecordCodec``'s
/// `frameEntries`, the write path's hot loop) or alone into an array
/// (``appendRecord(_:to:checksum:)``, `encode(.entry(_))`).
///
/// A frame is what ``RaftFiles/RecordFraming`` describes around the record: length word,
/// `08 02 10 <crc> 1a <length>`, the `raftpb.Entry` payload
/// (`08 <type> 10 <term> 18 <index> [22 <length> <data>]`), zero padding.
///
/// The record's `crc` field is the running CRC after the payload, and it comes before the
/// payload. In the usual case (varints of at most five bytes, field headers within 16 bytes)
/// writing takes two passes over a run of entries: ``prepare(_:)`` computes each
/// payload's own CRC from zero, from its field headers built in registers and the entry's data
/// where it lies, and ``write(_:prepared:at:crc:)`` joins it onto the running CRC with one
/// carry-less multiply and stores the frame front to back with a few wide stores and one copy
/// of the data. The payload CRCs do not depend on each other, so the CPU overlaps them; computed
/// one frame at a time, each frame's layout (its crc varint's length) waited for a whole CRC
/// chain. Reading back bytes just stored would stall the CPU too (a load spanning several
/// recent stores cannot be forwarded from them). Any other entry, and every entry encoded
/// alone, goes through ``writeRecord(_:payloadCount:at:checksum:)``: the payload is stored
/// where it goes with a 5-byte crc varint, checksummed, and moved back in the rare case the
/// varint is shorter. Both give the same bytes (the conformance suite checks it).
enum EntryFrame {
    /// How many entries' payload CRCs are computed ahead of framing them.
    static let preparedRun = 16

    /// How far past the end of the last frame ``writeRun(_:into:crc:byteBudget:)`` may store
    /// (wide stores of the field headers and the padding).
    static let storeOverrun = 32

    /// Frames `entries` from the first into `buffer` from its start, continuing the running
    /// CRC: ``ProtobufRecordCodec``'s `frameEntries` (see its contract in `RecordCodec`).
    ///
    /// Stops after the frame that reaches `byteBudget` bytes, or before an entry whose
    /// ``maximumSize(payloadCount:)`` does not fit in the rest of `buffer`.
    @inline(__always)
    static func writeRun(
        _ entries: UnsafeBufferPointer<Entry>, into buffer: UnsafeMutableRawBufferPointer, crc: inout UInt32, byteBudget: Int
    ) -> FramedEntries {
        guard !entries.isEmpty else { return FramedEntries(entryCount: 0, byteCount: 0, storedCount: 0) }
        let limit = buffer.count
        guard let base = buffer.baseAddress else {
            return FramedEntries(entryCount: 0, byteCount: 0, storedCount: 0, neededCount: maximumSize(payloadCount: payloadSize(of: entries[0])))
        }
        var running = crc
        var at = 0
        var next = 0
        withUnsafeTemporaryAllocation(of: Prepared.self, capacity: preparedRun) { prepared in
            // prepared[cursor..<count] belong to entries[next...].
            var cursor = 0
            var count = 0
            while next < entries.count {
                if cursor == count {
                    (cursor, count) = (0, 0)
                    while count < prepared.count, next + count < entries.count, let frame = prepare(entries[next + count]) {
                        prepared.initializeElement(at: count, to: frame)
                        count += 1
                    }
                }
                let payloadCount = cursor < count ? prepared[cursor].payloadCount : payloadSize(of: entries[next])
                guard at + maximumSize(payloadCount: payloadCount) <= limit else { break }
                if cursor < count {
                    at += write(entries[next], prepared: prepared[cursor], at: base + at, crc: &running)
                    cursor += 1
                } else {
                    at += writeGeneral(entries[next], payloadCount: payloadCount, at: base + at, crc: &running)
                }
                next += 1
                if at >= byteBudget { break }
            }
        }
        guard next > 0 else {
            return FramedEntries(entryCount: 0, byteCount: 0, storedCount: 0, neededCount: maximumSize(payloadCount: payloadSize(of: entries[0])))
        }
        crc = running
        return FramedEntries(entryCount: next, byteCount: at, storedCount: min(limit, at + storeOverrun))
    }

    /// The most bytes the frame of a payload of `payloadCount` bytes can take, with slack.
    @inline(__always)
    static func maximumSize(payloadCount: Int) -> Int {
        // Length word + `08 02 10` + crc (5) + `1a` + length varint (10) + payload + slack for
        // stores of 16 bytes that run past the payload (and the padding's).
        8 + 3 + 5 + 1 + 10 + payloadCount + 16
    }

    /// `entry.encodedSize`, inlined here: the core's property is not inlinable across modules.
    @inline(__always)
    static func payloadSize(of entry: borrowing Entry) -> Int {
        var size = 3 + varintLength(UInt64(bitPattern: Int64(entry.type.rawValue)))
            + varintLength(entry.term) + varintLength(entry.index)
        if let count = entry.dataCount { size += 1 + varintLength(UInt64(count)) + count }
        return size
    }

    /// What the first pass learns of an entry on the usual path.
    struct Prepared {
        var fields: Fields
        var payloadCount: Int
        /// The CRC of the payload alone, from zero.
        var payloadCRC: UInt32
    }

    /// The first pass for `entry`; `nil` when it needs ``writeGeneral(_:payloadCount:at:crc:)``.
    @inline(__always)
    static func prepare(_ entry: borrowing Entry) -> Prepared? {
        guard let fields = fieldWords(entry) else { return nil }
        // The field headers hold everything but the data, so they give the payload's size.
        return entry.withData { data in
            let dataCount = data?.count ?? 0
            guard dataCount < 1 << 35 - 16 else { return nil }
            let payloadCRC = ccrc32c_words(fields.low, fields.high, fields.count, data?.baseAddress, dataCount)
            return Prepared(fields: fields, payloadCount: fields.count + dataCount, payloadCRC: payloadCRC)
        }
    }

    /// Writes the frame of `entry`, `prepared` by ``prepare(_:)``, at `start`,
    /// which has ``maximumSize(payloadCount:)`` bytes of room, continuing the running CRC;
    /// returns the frame's size.
    @inline(__always)
    static func write(_ entry: borrowing Entry, prepared: Prepared, at start: UnsafeMutableRawPointer, crc: inout UInt32) -> Int {
        let payloadCount = prepared.payloadCount
        let checksum = ccrc32c_combine(crc, prepared.payloadCRC, payloadCount)
        let lengthVarint = varintLength(UInt64(payloadCount))
        let crcVarint = varintLength(UInt64(checksum))
        let headerCount = 3 + crcVarint + 1 + lengthVarint
        let recordCount = headerCount + payloadCount
        start.storeBytes(of: RecordFraming.lengthWord(forRecordLength: recordCount).littleEndian, as: UInt64.self)
        // 08 02 10 <crc> 1a <length>: at most 3 + 5 + 1 + 5 = 14 bytes, stored as 16.
        var header = Fields(bits: 0x10_02_08, count: 3)
        header.put(varintWord(UInt64(checksum)).word, crcVarint)
        header.put(tag: 3 << 3 | 2, (varintWord(UInt64(payloadCount)).word, lengthVarint))
        store(header, at: start + 8)
        let payload = start + 8 + headerCount
        store(prepared.fields, at: payload)
        entry.withData { data in
            if let data, let base = data.baseAddress {
                (payload + prepared.fields.count).copyMemory(from: base, byteCount: data.count)
            }
        }
        // Zero padding (and a few bytes after it that the next frame overwrites).
        (start + 8 + recordCount).storeBytes(of: 0, as: UInt64.self)
        crc = checksum
        return RecordFraming.frameSize(forRecordLength: recordCount)
    }

    /// The payload's field headers (`08 <type> 10 <term> 18 <index> [22 <length>]`, all but
    /// the data bytes) as 16 little-endian bytes, when each varint fits in five bytes and the
    /// whole in 16.
    struct Fields {
        var bits: UInt128
        var count: Int

        var low: UInt64 { UInt64(truncatingIfNeeded: bits) }
        var high: UInt64 { UInt64(truncatingIfNeeded: bits &>> 64) }

        /// Appends the `size` low bytes of `word`; the caller keeps `count` within 16.
        @inline(__always)
        mutating func put(_ word: UInt64, _ size: Int) {
            bits |= UInt128(word) &<< UInt128(8 * count)
            count += size
        }

        /// Appends a one-byte field tag and the varint after it.
        @inline(__always)
        mutating func put(tag: UInt64, _ varint: (word: UInt64, count: Int)) {
            put(tag | varint.word &<< 8, 1 + varint.count)
        }
    }

    @inline(__always)
    private static func fieldWords(_ entry: borrowing Entry) -> Fields? {
        let type = varintWord(UInt64(bitPattern: Int64(entry.type.rawValue)))
        let term = varintWord(entry.term)
        let index = varintWord(entry.index)
        let length = entry.dataCount.map { varintWord(UInt64($0)) }
        guard type.count > 0, term.count > 0, index.count > 0, length.map({ $0.count > 0 }) ?? true,
              3 + type.count + term.count + index.count + (length.map { 1 + $0.count } ?? 0) <= 16 else { return nil }
        var fields = Fields(bits: 0, count: 0)
        fields.put(tag: 1 << 3, type)
        fields.put(tag: 2 << 3, term)
        fields.put(tag: 3 << 3, index)
        if let length { fields.put(tag: 4 << 3 | 2, length) }
        return fields
    }

    /// A varint of up to five bytes as the little-endian word holding it and its length; a
    /// length of 0 when it is longer.
    @inline(__always)
    private static func varintWord(_ value: UInt64) -> (word: UInt64, count: Int) {
        if value < 0x80 { return (value, 1) }
        guard value < 1 << 35 else { return (0, 0) }
        let count = varintLength(value)
        var word = value & 0x7F
        word |= (value >> 7 & 0x7F) << 8
        word |= (value >> 14 & 0x7F) << 16
        word |= (value >> 21 & 0x7F) << 24
        word |= (value >> 28 & 0x7F) << 32
        // Continuation bits on every byte but the last.
        word |= 0x80_8080_8080 & ((1 &<< (8 * UInt64(count - 1))) &- 1)
        return (word, count)
    }

    @inline(__always)
    private static func store(_ words: Fields, at pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: words.low.littleEndian, as: UInt64.self)
        (pointer + 8).storeBytes(of: words.high.littleEndian, as: UInt64.self)
    }

    // MARK: - Any entry

    /// The room ``writeRecord(_:payloadCount:at:checksum:)`` needs for a payload of
    /// `payloadCount` bytes: the header with a 5-byte crc varint, and the payload.
    @inline(__always)
    static func recordCapacity(payloadCount: Int) -> Int {
        3 + 5 + 1 + varintLength(UInt64(payloadCount)) + payloadCount
    }

    /// Appends the `walpb.Record` of `entry` (no framing) to `buffer`; `checksum` receives the
    /// payload and returns the crc field's value: `encode(.entry(_))`.
    static func appendRecord(_ entry: Entry, to buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        let payloadCount = payloadSize(of: entry)
        let capacity = recordCapacity(payloadCount: payloadCount)
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: capacity))
        let recordCount = buffer.withUnsafeMutableBytes { raw in
            writeRecord(entry, payloadCount: payloadCount, at: raw.baseAddress! + start, checksum: checksum)
        }
        buffer.removeLast(capacity - recordCount)
    }

    /// The frame of every other entry (a negative type, huge terms or indexes, data of 2^35
    /// bytes...) at `start`, which has ``maximumSize(payloadCount:)`` bytes of room,
    /// continuing the running CRC; returns the frame's size.
    @inline(never)
    static func writeGeneral(_ entry: borrowing Entry, payloadCount: Int, at start: UnsafeMutableRawPointer, crc: inout UInt32) -> Int {
        var running = crc
        let recordCount = writeRecord(entry, payloadCount: payloadCount, at: start + 8) { payload in
            running = ccrc32c_update(running, payload.baseAddress, payload.count)
            return running
        }
        crc = running
        (start + 8 + recordCount).storeBytes(of: 0, as: UInt64.self)
        start.storeBytes(of: RecordFraming.lengthWord(forRecordLength: recordCount).littleEndian, as: UInt64.self)
        return RecordFraming.frameSize(forRecordLength: recordCount)
    }

    /// Writes the `walpb.Record` of `entry` (no framing) at `start`, which has
    /// ``recordCapacity(payloadCount:)`` bytes of room and stores nothing past them: the
    /// payload is stored where it goes after a 5-byte crc varint, `checksum` gets it and
    /// returns the crc field's value, and the payload is moved back when that varint is
    /// shorter. Returns the record's size.
    @inline(__always)
    static func writeRecord(
        _ entry: borrowing Entry, payloadCount: Int, at start: UnsafeMutableRawPointer, checksum: (UnsafeRawBufferPointer) -> UInt32
    ) -> Int {
        let lengthVarint = varintLength(UInt64(payloadCount))
        var payload = start + 3 + 5 + 1 + lengthVarint
        var position = payload
        position.storeByte(1 << 3)
        position.storeVarint(UInt64(bitPattern: Int64(entry.type.rawValue)))
        position.storeByte(2 << 3)
        position.storeVarint(entry.term)
        position.storeByte(3 << 3)
        position.storeVarint(entry.index)
        entry.withData { data in
            guard let data else { return }
            position.storeByte(4 << 3 | 2)
            position.storeVarint(UInt64(data.count))
            if let base = data.baseAddress { position.copyMemory(from: base, byteCount: data.count) }
        }
        let crc = checksum(UnsafeRawBufferPointer(start: payload, count: payloadCount))
        let crcVarint = varintLength(UInt64(crc))
        if crcVarint < 5 {
            let shorter = payload - (5 - crcVarint)
            shorter.copyMemory(from: payload, byteCount: payloadCount)
            payload = shorter
        }
        var header = start
        header.storeByte(1 << 3)
        header.storeByte(UInt8(WALRecordType.entry.rawValue))
        header.storeByte(2 << 3)
        header.storeVarint(UInt64(crc))
        header.storeByte(3 << 3 | 2)
        header.storeVarint(UInt64(payloadCount))
        return 3 + crcVarint + 1 + lengthVarint + payloadCount
    }
}
