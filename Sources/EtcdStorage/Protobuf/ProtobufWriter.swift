import RaftStorage
// Protobuf wire-format writing, by hand: see ProtobufRecordCodec for why.

/// Protobuf wire types.
enum WireType: UInt8 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

extension Array where Element == UInt8 {
    @inline(__always)
    mutating func appendTag(_ field: UInt8, _ wireType: WireType) {
        // Every field number used here is below 16, so a tag is one byte.
        append(field << 3 | wireType.rawValue)
    }

    @inline(__always)
    mutating func appendVarintField(_ field: UInt8, _ value: UInt64) {
        appendTag(field, .varint)
        appendVarint(value)
    }

    @inline(__always)
    mutating func appendBytesField(_ field: UInt8, _ bytes: [UInt8]) {
        appendTag(field, .lengthDelimited)
        appendVarint(UInt64(bytes.count))
        append(contentsOf: bytes)
    }

    /// Writes a length-delimited field whose content `body` appends, patching the length in
    /// afterwards so the content is encoded once, straight into place.
    @inline(__always)
    mutating func appendMessageField(_ field: UInt8, _ body: (inout [UInt8]) -> Void) {
        appendTag(field, .lengthDelimited)
        let lengthAt = count
        append(0)
        body(&self)
        let length = count - lengthAt - 1
        if length < 0x80 {
            self[lengthAt] = UInt8(length)
        } else {
            var prefix: [UInt8] = []
            prefix.appendVarint(UInt64(length))
            self[lengthAt] = prefix[0]
            insert(contentsOf: prefix[1...], at: lengthAt + 1)
        }
    }
}

extension Array where Element == UInt8 {
    /// Overwrites bytes from `index` with the varint of `value`; returns the index after it.
    @inline(__always)
    mutating func storeVarint(_ value: UInt64, at index: Int) -> Int {
        var value = value
        var index = index
        while value >= 0x80 {
            self[index] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            index += 1
        }
        self[index] = UInt8(value)
        return index + 1
    }
}
