import RaftStorage
import RaftFiles

/// One entry's bytes inside a record: term, type and data as varints and bytes, then a CRC32C
/// over the group ID, the index and those bytes. The index and group are not stored (the record
/// says where a run of entries starts) but are checksummed, so a read that lands on the wrong
/// entry, or on another group's, fails instead of returning it.
///
/// ```
/// term varint | type varint (UInt32 bit pattern) | data tag varint (0: no data, n + 1: n bytes)
/// | data | crc32c u32 LE of (group u64 LE, index u64 LE, the bytes before it)
/// ```
enum EntryCodec {
    static let checksumSize = 4

    /// The most bytes ``store(_:group:at:)`` writes for `entry`.
    @inline(__always)
    static func maxSize(of entry: Entry) -> Int {
        30 + (entry.dataCount ?? 0) + checksumSize
    }

    /// Writes `entry`, as an entry of `group`, at `position` (room for ``maxSize(of:)`` bytes)
    /// and moves past it.
    @inline(__always)
    static func store(_ entry: Entry, group: UInt64, at position: inout UnsafeMutableRawPointer) {
        let start = position
        position.storeVarint(entry.term)
        position.storeVarint(UInt64(UInt32(bitPattern: entry.type.rawValue)))
        // In place: `data` would copy the bytes of an entry read from a shared buffer.
        entry.withData { data in
            guard let data else { return position.storeVarint(0) }
            position.storeVarint(UInt64(data.count) + 1)
            if let base = data.baseAddress { position.copyMemory(from: base, byteCount: data.count) }
            position += data.count
        }
        let crc = checksum(group: group, index: entry.index, UnsafeRawBufferPointer(start: start, count: position - start))
        position.storeBytes(of: crc.littleEndian, as: UInt32.self)
        position += checksumSize
    }

    /// The CRC32C an entry of `group` at `index` with these bytes (before the checksum) has.
    @inline(__always)
    static func checksum(group: UInt64, index: UInt64, _ body: UnsafeRawBufferPointer) -> UInt32 {
        // The group and index from registers, in the same call as the bytes.
        CRC32C.checksum(words: group, index, count: 16, followedBy: body)
    }

    /// Where the entry starting at `offset` of `bytes` ends, reading only its structure (terms
    /// and data lengths, no checksum); `nil` when it runs past `end` or a varint is broken.
    static func end(of bytes: [UInt8], at offset: Int, limit end: Int) -> (term: UInt64, end: Int)? {
        bytes.withUnsafeBytes { raw in self.end(of: raw, at: offset, limit: end) }
    }

    /// ``end(of:at:limit:)-([UInt8],_,_)`` over borrowed bytes.
    static func end(of bytes: UnsafeRawBufferPointer, at offset: Int, limit end: Int) -> (term: UInt64, end: Int)? {
        var position = offset
        guard let term = bytes.readVarint(at: &position), position <= end,
            let type = bytes.readVarint(at: &position), type <= UInt64(UInt32.max), position <= end,
            let tag = bytes.readVarint(at: &position), position <= end
        else { return nil }
        let dataCount = tag == 0 ? 0 : tag - 1
        guard dataCount <= UInt64(end - position), UInt64(end - position) - dataCount >= UInt64(checksumSize) else { return nil }
        return (term, position + Int(dataCount) + checksumSize)
    }

    /// Decodes the entry `bytes` hold entirely, checking its checksum against `group` and
    /// `index` and its term against `expectedTerm`.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/crcMismatch`` or
    ///   ``RaftStorage/StorageError/Code/corrupt`` naming `path` and `offset` (where the bytes
    ///   were read from).
    static func decode(
        _ bytes: [UInt8], group: UInt64, index: UInt64, expectedTerm: UInt64, path: String, offset: Int64
    ) throws(StorageError) -> Entry {
        guard let (term, end) = end(of: bytes, at: 0, limit: bytes.count), end == bytes.count else {
            throw StorageError(.corrupt, "entry \(index) of group \(group) does not decode", path: path, offset: offset)
        }
        let stored = UInt32(truncatingIfNeeded: bytes.littleEndian(at: end - checksumSize, count: checksumSize))
        let computed = bytes.withUnsafeBytes { raw in
            checksum(group: group, index: index, UnsafeRawBufferPointer(rebasing: raw[..<(end - checksumSize)]))
        }
        guard stored == computed else {
            throw StorageError(.crcMismatch, "entry \(index) of group \(group) fails its checksum", path: path, offset: offset)
        }
        guard term == expectedTerm else {
            throw StorageError(.corrupt, "entry \(index) of group \(group) has term \(term), the index says \(expectedTerm)", path: path, offset: offset)
        }
        var position = 0
        _ = bytes.readVarint(at: &position)
        let type = UInt32(truncatingIfNeeded: bytes.readVarint(at: &position) ?? 0)
        let tag = bytes.readVarint(at: &position) ?? 0
        let data: [UInt8]? = tag == 0 ? nil : Array(bytes[position..<(position + Int(tag - 1))])
        return Entry(term: term, index: index, type: EntryType(rawValue: Int32(bitPattern: type)), data: data)
    }
}
