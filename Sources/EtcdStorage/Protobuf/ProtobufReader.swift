import RaftStorage

/// A bounds-checked protobuf wire-format reader over borrowed bytes.
///
/// Every read checks the remaining length first, so hostile lengths produce a
/// ``RaftStorage/StorageError/Code/corrupt`` error naming the byte offset (relative to the bytes the codec
/// was given) instead of a trap or an allocation.
struct ProtobufReader {
    let bytes: UnsafeRawBufferPointer
    /// Position of the next byte to read, relative to `bytes`.
    var position: Int
    /// Where this reader's data ends (exclusive).
    let end: Int
    /// Added to positions in error offsets: where `bytes` starts in the caller's input.
    let base: Int

    init(_ bytes: UnsafeRawBufferPointer, base: Int = 0) {
        self.bytes = bytes
        self.position = 0
        self.end = bytes.count
        self.base = base
    }

    private init(bytes: UnsafeRawBufferPointer, range: Range<Int>, base: Int) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.base = base
    }

    var isAtEnd: Bool { position >= end }

    func error(_ message: String, at offset: Int? = nil) -> StorageError {
        StorageError(.corrupt, "protobuf: \(message)", offset: Int64(base + (offset ?? position)))
    }

    @inline(__always)
    mutating func readVarint() throws(StorageError) -> UInt64 {
        // Go's decoder accepts up to ten bytes and drops bits past 64; more is an overflow.
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("truncated varint", at: start) }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            guard shift < 70 else { throw error("varint overflows 64 bits", at: start) }
        }
    }

    /// The next field's number and wire type, or `nil` at the end.
    @inline(__always)
    mutating func readTag() throws(StorageError) -> (field: UInt64, wireType: UInt8)? {
        guard position < end else { return nil }
        let start = position
        let key = try readVarint()
        let field = key >> 3
        guard field > 0 else { throw error("illegal field number 0", at: start) }
        return (field, UInt8(key & 7))
    }

    /// The byte range of a length-delimited value (after its tag).
    @inline(__always)
    mutating func readLengthDelimited() throws(StorageError) -> Range<Int> {
        let start = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw error("length \(length) runs past the end of the message", at: start)
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// A reader over `range` (from ``readLengthDelimited()``).
    func subReader(_ range: Range<Int>) -> ProtobufReader {
        ProtobufReader(bytes: bytes, range: range, base: base)
    }

    /// A copy of `range`.
    func copy(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    /// Reads a varint field's value after checking its wire type.
    @inline(__always)
    mutating func readVarint(wireType: UInt8, field: UInt64, in message: String) throws(StorageError) -> UInt64 {
        guard wireType == WireType.varint.rawValue else {
            throw error("wrong wire type \(wireType) for field \(field) of \(message)")
        }
        return try readVarint()
    }

    /// Reads a bytes or message field's range after checking its wire type.
    @inline(__always)
    mutating func readLengthDelimited(wireType: UInt8, field: UInt64, in message: String) throws(StorageError) -> Range<Int> {
        guard wireType == WireType.lengthDelimited.rawValue else {
            throw error("wrong wire type \(wireType) for field \(field) of \(message)")
        }
        return try readLengthDelimited()
    }

    /// Reads a repeated uint64 field, packed (one length-delimited run) or not (one value).
    mutating func readRepeatedUInt64(wireType: UInt8, field: UInt64, in message: String, into values: inout [UInt64]) throws(StorageError) {
        if wireType == WireType.lengthDelimited.rawValue {
            var packed = subReader(try readLengthDelimited())
            while !packed.isAtEnd { values.append(try packed.readVarint()) }
        } else {
            values.append(try readVarint(wireType: wireType, field: field, in: message))
        }
    }

    /// Skips a field this decoder does not know, of any wire type, including (deprecated)
    /// groups, as Go's generated `skip` functions do.
    mutating func skipField(wireType: UInt8, field: UInt64) throws(StorageError) {
        var depth = 0
        var wireType = wireType
        var field = field
        while true {
            switch wireType {
            case WireType.varint.rawValue:
                _ = try readVarint()
            case WireType.fixed64.rawValue:
                try skipBytes(8)
            case WireType.fixed32.rawValue:
                try skipBytes(4)
            case WireType.lengthDelimited.rawValue:
                _ = try readLengthDelimited()
            case WireType.startGroup.rawValue:
                depth += 1
            case WireType.endGroup.rawValue:
                guard depth > 0 else { throw error("unexpected end of group (field \(field))") }
                depth -= 1
            default:
                throw error("illegal wire type \(wireType) (field \(field))")
            }
            if depth == 0 { return }
            guard let next = try readTag() else { throw error("unterminated group") }
            (field, wireType) = next
        }
    }

    private mutating func skipBytes(_ count: Int) throws(StorageError) {
        guard end - position >= count else { throw error("truncated fixed-width field") }
        position += count
    }
}
