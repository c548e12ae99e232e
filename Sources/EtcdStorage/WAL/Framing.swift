import RaftFiles

// Record framing (Docs/OnDiskFormat.md, Record framing), as `RecordFraming` describes it: an
// 8-byte little-endian length word, the record, and zero padding to a multiple of 8. Bits 0..55
// of the word hold the record's length; when padding is present the top byte is 0x80 | padding.
// A zero word means "no more records in this file". What the WAL adds here is the reader's
// check of a word as a writer produces it (`plausible`).

enum Framing {
    static var lengthMask: UInt64 { RecordFraming.lengthMask }

    /// Appends one framed record, continuing the running CRC with its payload.
    @inline(__always)
    static func append<Codec: RecordCodec>(_ record: LogRecord, codec: Codec, crc: inout UInt32, to buffer: inout [UInt8]) {
        RecordFraming.append(record, encodedBy: codec, crc: &crc, to: &buffer)
    }

    /// The record length and padding a length word announces.
    @inline(__always)
    static func decode(word: UInt64) -> (length: UInt64, padding: UInt64) {
        RecordFraming.decode(lengthWord: word)
    }

    /// The record length and padding of a length word as a writer produces it - padding that
    /// makes the frame a multiple of 8, flagged exactly when present - for a record that fits
    /// in `room` bytes; `nil` for any other word.
    static func plausible(word: UInt64, room: Int) -> (length: Int, padding: Int)? {
        let top = word >> 56
        let length = word & lengthMask
        let padding = top & 7
        if top == 0 {
            guard length % 8 == 0 else { return nil }
        } else {
            guard top & 0x78 == 0, top & 0x80 != 0, padding != 0, (length + padding) % 8 == 0 else { return nil }
        }
        guard length > 0, length + padding <= UInt64(max(0, room)) else { return nil }
        return (Int(length), Int(padding))
    }
}
