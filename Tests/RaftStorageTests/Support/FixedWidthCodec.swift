import RaftStorage
import RaftFiles
import TestSupport

/// ``FixedWidthCodec`` with both fast paths, written the simple way a third party might: each
/// entry framed by `RecordFraming` into a scratch array and copied, records read through
/// `decode`. The conformance suite must accept it.
struct FramingFixedWidthCodec: RecordCodec {
    let inner = FixedWidthCodec()
    /// Whether the running CRC is carried from one entry to the next (a broken codec forgets).
    var chainsCRC = true
    /// The term given to entries read without their data (a broken codec adds one).
    var termOffset: UInt64 = 0

    var formatName: String? { inner.formatName }

    func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        inner.encode(record, into: &buffer, checksum: checksum)
    }

    func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord { try inner.decode(bytes) }
    func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) { inner.encodeSnapshot(snapshot, into: &buffer) }
    func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot { try inner.decodeSnapshot(bytes) }

    func frameEntries(
        _ entries: UnsafeBufferPointer<Entry>, into buffer: UnsafeMutableRawBufferPointer, crc: inout UInt32, byteBudget: Int
    ) -> FramedEntries? {
        var written = 0
        var count = 0
        var frame: [UInt8] = []
        for entry in entries {
            frame.removeAll(keepingCapacity: true)
            var running = chainsCRC ? crc : 0
            RecordFraming.append(.entry(entry), encodedBy: inner, crc: &running, to: &frame)
            guard frame.count <= buffer.count - written else {
                return FramedEntries(entryCount: count, byteCount: written, storedCount: written, neededCount: count == 0 ? frame.count : 0)
            }
            frame.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + source.count)]).copyMemory(from: source)
            }
            written += frame.count
            count += 1
            crc = running
            if written >= byteBudget { break }
        }
        return FramedEntries(entryCount: count, byteCount: written, storedCount: written)
    }

    func decodeLogRecord(_ bytes: UnsafeRawBufferPointer, entryData: EntryDataMode) throws(StorageError) -> DecodedLogRecord {
        let decoded = try inner.decode(bytes)
        switch (decoded.record, entryData) {
        case (.entry(let entry), .copy):
            return DecodedLogRecord(body: .entry(entry), checksum: decoded.checksum, payload: decoded.payload)
        case (.entry(let entry), .skip):
            return DecodedLogRecord(
                body: .entryIndexAndTerm(index: entry.index, term: entry.term &+ termOffset), checksum: decoded.checksum, payload: decoded.payload)
        case (let record, _):
            return DecodedLogRecord(body: .other(record), checksum: decoded.checksum, payload: decoded.payload)
        }
    }
}
