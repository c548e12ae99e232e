import RaftStorage

/// An entry record exactly as etcd (and ``EntryFrame``) writes it, parsed in one pass: the
/// replay's hot path, the first step of ``ProtobufRecordCodec``'s one decoder
/// (`decodeLogRecord(_:entryData:)`, which `decode(_:)` calls too).
///
/// `08 02 10 <crc> 1a <length>` then the `raftpb.Entry` fields in order,
/// `08 <type> 10 <term> 18 <index> [22 <length> <data>]`, filling the record exactly. Any other
/// shape (unknown or reordered fields, packed lengths, varints of ten bytes, truncation) makes
/// ``parse(_:)`` return `nil`, and the general protobuf decoder takes the record, with its
/// checks and error messages: the two agree on every record this accepts.
struct CanonicalEntryRecord {
    var crc: UInt32
    /// The `raftpb.Entry` bytes (what the CRC covers).
    var payload: Range<Int>
    var type: Int32
    var term: UInt64
    var index: UInt64
    /// The data field's bytes, `nil` when absent.
    var data: Range<Int>?

    @inline(__always)
    static func parse(_ bytes: UnsafeRawBufferPointer) -> CanonicalEntryRecord? {
        let count = bytes.count
        guard count >= 6, bytes[0] == 0x08, bytes[1] == 0x02, bytes[2] == 0x10 else { return nil }
        var position = 3
        guard let crc = varint(bytes, &position), crc <= UInt64(UInt32.max),
              position < count, bytes[position] == 0x1A else { return nil }
        position += 1
        guard let length = varint(bytes, &position), length == UInt64(count - position) else { return nil }
        let payloadStart = position
        guard position < count, bytes[position] == 0x08 else { return nil }
        position += 1
        guard let type = varint(bytes, &position), position < count, bytes[position] == 0x10 else { return nil }
        position += 1
        guard let term = varint(bytes, &position), position < count, bytes[position] == 0x18 else { return nil }
        position += 1
        guard let index = varint(bytes, &position) else { return nil }
        var data: Range<Int>?
        if position < count {
            guard bytes[position] == 0x22 else { return nil }
            position += 1
            guard let dataLength = varint(bytes, &position), dataLength == UInt64(count - position) else { return nil }
            data = position..<count
        }
        return CanonicalEntryRecord(
            crc: UInt32(crc), payload: payloadStart..<count, type: Int32(truncatingIfNeeded: type), term: term, index: index, data: data)
    }

    /// A varint of at most nine bytes (longer ones go to the general decoder), advancing
    /// `position`; `nil` when it runs past the end.
    ///
    /// Varints of up to five bytes (a record's, but for large terms and indexes) are read
    /// unrolled when five bytes are there: the loop's bookkeeping per byte was a tenth of a
    /// replay's instructions.
    @inline(__always)
    private static func varint(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> UInt64? {
        if position &+ 5 <= bytes.count {
            let p = position
            let b0 = UInt64(bytes[p])
            if b0 < 0x80 { position = p &+ 1; return b0 }
            let b1 = UInt64(bytes[p &+ 1])
            var value = b0 & 0x7F | (b1 & 0x7F) &<< 7
            if b1 < 0x80 { position = p &+ 2; return value }
            let b2 = UInt64(bytes[p &+ 2])
            value |= (b2 & 0x7F) &<< 14
            if b2 < 0x80 { position = p &+ 3; return value }
            let b3 = UInt64(bytes[p &+ 3])
            value |= (b3 & 0x7F) &<< 21
            if b3 < 0x80 { position = p &+ 4; return value }
            let b4 = UInt64(bytes[p &+ 4])
            value |= (b4 & 0x7F) &<< 28
            if b4 < 0x80 { position = p &+ 5; return value }
        }
        return longVarint(bytes, &position)
    }

    /// ``varint(_:_:)`` byte by byte.
    @inline(__always)
    private static func longVarint(_ bytes: UnsafeRawBufferPointer, _ position: inout Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count && shift < 63 {
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) &<< shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    /// The entry, its data copied out of the record.
    @inline(__always)
    func entry(in bytes: UnsafeRawBufferPointer) -> Entry {
        var entry = Entry(term: term, index: index, type: EntryType(rawValue: type))
        // Array(_:) of a buffer is specialised in this module; init(unsafeUninitializedCapacity:)
        // calls the standard library's generic code (a metadata lookup per entry).
        if let data { entry.data = Array(UnsafeRawBufferPointer(rebasing: bytes[data])) }
        return entry
    }

    /// The entry, its data left in `buffer`, which holds `bytes`.
    @inline(__always)
    func entry(in bytes: UnsafeRawBufferPointer, sharing buffer: EntryBuffer) -> Entry {
        let type = EntryType(rawValue: type)
        guard let data else { return Entry(term: term, index: index, type: type) }
        return Entry(term: term, index: index, type: type, data: UnsafeRawBufferPointer(rebasing: bytes[data]), in: buffer)
    }
}
