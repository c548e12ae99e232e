import RaftStorage

/// Reads a record body that passed its checksum but may still be hostile (written by other
/// code, or damaged before its checksum was computed): every read is bounds-checked, and a
/// count is checked against the bytes left before anything is allocated for it. Reads the
/// bytes where they are (the recovery's read buffer), so it lives only inside the call that
/// lends them.
struct BodyReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    /// For errors: the file and the body's offset in it.
    let path: String
    let bodyOffset: Int64

    init(_ bytes: UnsafeRawBufferPointer, from position: Int = 0, path: String, bodyOffset: Int64) {
        self.bytes = bytes
        self.position = position
        self.path = path
        self.bodyOffset = bodyOffset
    }

    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position >= bytes.count }

    /// A ``RaftStorage/StorageError/Code/corrupt`` error at the current position.
    func corrupt(_ message: String) -> StorageError {
        StorageError(.corrupt, message, path: path, offset: bodyOffset + Int64(position))
    }

    @inline(__always)
    mutating func byte() throws(StorageError) -> UInt8 {
        guard position < bytes.count else { throw corrupt("record body ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    @inline(__always)
    mutating func varint() throws(StorageError) -> UInt64 {
        var at = position
        guard let value = bytes.readVarint(at: &at) else { throw corrupt("broken varint in record body") }
        position = at
        return value
    }

    /// A count of things that each take at least `minimumBytes` bytes in what follows.
    @inline(__always)
    mutating func count(each minimumBytes: Int = 1) throws(StorageError) -> Int {
        let value = try varint()
        guard value <= UInt64(remaining / max(minimumBytes, 1)) else {
            throw corrupt("count \(value) exceeds the \(remaining) bytes left in the record")
        }
        return Int(value)
    }

    /// Moves past `count` bytes.
    @inline(__always)
    mutating func skip(_ count: Int) throws(StorageError) {
        guard count >= 0, count <= remaining else { throw corrupt("record body ends early") }
        position += count
    }

    /// A `UInt32` stored as a varint.
    mutating func uint32() throws(StorageError) -> UInt32 {
        let value = try varint()
        guard value <= UInt64(UInt32.max) else { throw corrupt("value \(value) out of range") }
        return UInt32(value)
    }
}
