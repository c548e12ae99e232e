// The WAL record codec (etcd's walpb.Record with raftpb payloads): decoding any bytes throws or
// returns a record, and a decoded record encodes back to a record that decodes the same.
import EtcdStorage
import FuzzSupport
import RaftStorage
import RaftFiles

let codec = ProtobufRecordCodec()
/// Re-encodes with the snapshot's ConfState (etcd 3.5's field 3), which plain etcd 3.4 drops.
let fullCodec = ProtobufRecordCodec(writesSnapshotConfState: true)

runFuzzer { bytes in
    _ = try? codec.decodeSnapshot(bytes)
    guard let decoded = try? codec.decode(bytes) else { return }
    var encoded: [UInt8] = []
    fullCodec.encode(decoded.record, into: &encoded, checksum: { _ in decoded.checksum })
    let again = try? codec.decode(encoded)
    require(again?.record == decoded.record, "\(decoded.record) re-encodes to \(again.map { "\($0.record)" } ?? "bytes that do not decode")")
}
