// Protobuf base-128 varints: etcd's records, the CLI's reading of etcd metadata and the example
// state machine's commands all use them, so they are written once here, `package` for the
// package's modules.

/// The number of bytes a protobuf base-128 varint of `value` takes.
@inlinable
package func varintLength(_ value: UInt64) -> Int {
    // One byte per started group of 7 bits; zero still takes one byte.
    (64 - (value | 1).leadingZeroBitCount + 6) / 7
}

extension UnsafeMutableRawPointer {
    /// Stores `byte` and advances past it.
    @inlinable @inline(__always)
    package mutating func storeByte(_ byte: UInt8) {
        storeBytes(of: byte, as: UInt8.self)
        self += 1
    }

    /// Stores `value` as a varint (at most 10 bytes) and advances past it: for encoders that
    /// size their buffer first and then write without a bounds check per byte.
    @inlinable @inline(__always)
    package mutating func storeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            storeByte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        storeByte(UInt8(value))
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` as a varint.
    @inlinable
    package mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        append(UInt8(value))
    }
}

extension RandomAccessCollection where Element == UInt8, Index == Int {
    /// The varint at `offset`, which moves past it; `nil` when the bytes end inside it or it
    /// runs past 64 bits. For arrays and borrowed bytes alike.
    @inlinable
    package func readVarint(at offset: inout Int) -> UInt64? {
        // One or two bytes, the usual cases (terms, types, lengths under 16 KiB), without the
        // loop's bookkeeping: a tenth of the multi-group log's recovery went to this loop.
        if offset < endIndex {
            let first = UInt64(self[offset])
            if first < 0x80 {
                offset += 1
                return first
            }
            if offset + 1 < endIndex {
                let second = UInt64(self[offset + 1])
                if second < 0x80 {
                    offset += 2
                    return first & 0x7F | second << 7
                }
            }
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < endIndex, shift < 64 {
            let byte = self[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}
