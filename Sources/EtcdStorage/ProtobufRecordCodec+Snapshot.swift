public import RaftStorage
import RaftFiles

// etcd `.snap` file content (Docs/OnDiskFormat.md, `.snap`): one `snappb.snapshot` message with no
// framing, crc=1 (uint32, always) = CRC32C(data) from 0, data=2 (the marshaled raftpb.Snapshot).

extension ProtobufRecordCodec {
    /// Appends the complete content of an etcd `.snap` file holding `snapshot`.
    public func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) {
        var body: [UInt8] = []
        body.reserveCapacity((snapshot.data?.count ?? 0) + 64)
        body.appendSnapshot(snapshot)
        buffer.appendVarintField(1, UInt64(CRC32C.update(0, body)))
        buffer.appendBytesField(2, body)
    }

    /// Decodes and verifies the content of an etcd `.snap` file, with etcd's rules (`snap.Read`):
    /// an empty input, or a wrapper with no data or a zero CRC, is an empty snapshot.
    ///
    /// Accepts exactly what the streaming decoder (`EtcdSnapshotStreamDecoder`) accepts, so a
    /// file loads whole if and only if it loads streamed: a second `data` field (in
    /// `snappb.snapshot` or in `raftpb.Snapshot`) and groups at those two levels are corrupt,
    /// though a protobuf parser (and etcd) would take the last `data` and skip groups. etcd never
    /// writes either.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/corrupt`` for an empty snapshot or bytes that do not
    ///   decode (with the offset); ``RaftStorage/StorageError/Code/crcMismatch`` when the CRC disagrees.
    public func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot {
        guard !bytes.isEmpty else { throw StorageError(.corrupt, "snap: empty snapshot", offset: 0) }
        var reader = ProtobufReader(bytes)
        var crc: UInt32 = 0
        var data: Range<Int>?
        while let (field, wireType) = try reader.readTag() {
            let start = reader.position
            switch field {
            case 1: crc = UInt32(truncatingIfNeeded: try reader.readVarint(wireType: wireType, field: field, in: "snappb.snapshot"))
            case 2:
                guard data == nil else { throw reader.error("snap: a second data field in snappb.snapshot", at: start) }
                data = try reader.readLengthDelimited(wireType: wireType, field: field, in: "snappb.snapshot")
            default: try reader.skipNonGroupField(wireType: wireType, field: field, in: "snappb.snapshot")
            }
        }
        guard let data, !data.isEmpty, crc != 0 else {
            throw StorageError(.corrupt, "snap: empty snapshot", offset: 0)
        }
        let actual = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: bytes[data]))
        guard actual == crc else {
            throw StorageError(.crcMismatch, "snap: crc mismatch (stored \(hex(crc)), computed \(hex(actual)))", offset: Int64(data.lowerBound))
        }
        var inner = reader.subReader(data)
        return try inner.readSnapshot()
    }
}

extension ProtobufReader {
    /// Skips an unknown field, refusing groups (deprecated, never written by etcd) as the
    /// streaming snapshot decoder does.
    mutating func skipNonGroupField(wireType: UInt8, field: UInt64, in message: String) throws(StorageError) {
        guard wireType != 3, wireType != 4 else {
            throw error("snap: unsupported wire type \(wireType) (field \(field) of \(message))")
        }
        try skipField(wireType: wireType, field: field)
    }
}

/// `0x` and eight hex digits.
func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
