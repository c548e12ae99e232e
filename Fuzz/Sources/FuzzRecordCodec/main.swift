// The WAL record codec (etcd's walpb.Record with raftpb payloads): decoding any bytes throws or
// returns a record, and a decoded record encodes back to a record that decodes the same. The
// codec's fast paths agree with its plain ones: the read path with `decode`, with and without
// entry data, and the write path, for a decoded entry, with `encode`'s bytes framed.
import EtcdStorage
import FuzzSupport
import RaftStorage
import RaftFiles

let codec = ProtobufRecordCodec()
/// Re-encodes with the snapshot's ConfState (etcd 3.5's field 3), which plain etcd 3.4 drops.
let fullCodec = ProtobufRecordCodec(writesSnapshotConfState: true)

runFuzzer { bytes in
    _ = try? codec.decodeSnapshot(bytes)
    let decoded = try? codec.decode(bytes)
    for mode in [EntryDataMode.copy, .skip] {
        let read = try? codec.decodeLogRecord(bytes, entryData: mode)
        guard let decoded else {
            require(read == nil, "decode fails, but decodeLogRecord(\(mode)) gives \(read.map { "\($0.body)" } ?? "")")
            continue
        }
        require(read?.checksum == decoded.checksum && read?.payload == decoded.payload, "decodeLogRecord(\(mode)) disagrees with decode on \(decoded.record)")
        switch (decoded.record, mode) {
        case (.entry(let entry), .copy): require(read?.body == .entry(entry), "decodeLogRecord(.copy) gives \(String(describing: read?.body))")
        case (.entry(let entry), .skip):
            require(read?.body == .entryIndexAndTerm(index: entry.index, term: entry.term), "decodeLogRecord(.skip) gives \(String(describing: read?.body))")
        case (let record, _): require(read?.body == .other(record), "decodeLogRecord(\(mode)) gives \(String(describing: read?.body)) for \(record)")
        }
    }
    guard let decoded else { return }
    var encoded: [UInt8] = []
    fullCodec.encode(decoded.record, into: &encoded, checksum: { _ in decoded.checksum })
    let again = try? codec.decode(encoded)
    require(again?.record == decoded.record, "\(decoded.record) re-encodes to \(again.map { "\($0.record)" } ?? "bytes that do not decode")")

    // A decoded entry framed by the write fast path is `encode`'s record, framed.
    guard case .entry(let entry) = decoded.record else { return }
    var plainCRC = decoded.checksum
    var plain: [UInt8] = []
    RecordFraming.append(.entry(entry), encodedBy: codec, crc: &plainCRC, to: &plain)
    var fastCRC = decoded.checksum
    var buffer = [UInt8](repeating: 0, count: plain.count + 64)
    let written = buffer.withUnsafeMutableBytes { raw in
        [entry].withUnsafeBufferPointer { entries in codec.frameEntries(entries, into: raw, crc: &fastCRC, byteBudget: 0) }
    }
    require(
        written?.entryCount == 1 && written?.byteCount == plain.count && Array(buffer[0..<plain.count]) == plain && fastCRC == plainCRC,
        "the write fast path frames \(entry) differently from encode")
}
