public import RaftStorage
public import RaftFiles

extension ProtobufRecordCodec {
    /// Streams etcd `.snap` content: the encoding etcd writes, except that the `crc` field comes
    /// after `data` instead of before it, because the checksum of data that is still arriving is
    /// known only at the end.
    ///
    /// Protobuf allows fields in any order and etcd's gogoproto parser (`snappb.Snapshot.Unmarshal`)
    /// takes them as they come, so etcd 3.4-3.6 read such a file like its own (checked against a
    /// real etcd by `EtcdCompatibilityTests`).
    public func makeSnapshotEncoder(metadata: SnapshotMetadata, dataCount: Int) -> (any SnapshotStreamEncoder)? {
        EtcdSnapshotStreamEncoder(metadata: metadata, dataCount: dataCount)
    }

    /// etcd's `.snap` content for `snapshot`, exactly as ``encodeSnapshot(_:into:)`` writes it,
    /// split around the data: `08 <crc> 12 <length> 0a <data length>`, the data, then the
    /// metadata field. Costs one CRC pass over the data and no copy of it.
    public func snapshotFraming(of snapshot: Snapshot) -> SnapshotFraming? {
        var suffix: [UInt8] = []
        suffix.appendMessageField(2) { $0.appendSnapshotMetadata(snapshot.metadata) }
        var dataHeader: [UInt8] = []
        var crc: UInt32 = 0
        if let data = snapshot.data {
            dataHeader.appendTag(1, .lengthDelimited)
            dataHeader.appendVarint(UInt64(data.count))
            crc = CRC32C.update(0, dataHeader)
            crc = CRC32C.update(crc, data)
        }
        crc = CRC32C.update(crc, suffix)
        var prefix: [UInt8] = []
        prefix.appendVarintField(1, UInt64(crc))
        prefix.appendTag(2, .lengthDelimited)
        prefix.appendVarint(UInt64(dataHeader.count + (snapshot.data?.count ?? 0) + suffix.count))
        return SnapshotFraming(prefix: prefix + dataHeader, suffix: suffix)
    }

    /// Reads etcd `.snap` content in chunks, with the checks of ``decodeSnapshot(_:)``.
    public func makeSnapshotDecoder() -> (any SnapshotStreamDecoder)? {
        EtcdSnapshotStreamDecoder()
    }
}

/// Writes `12 <len> 0a <dataCount> DATA 12 <len> METADATA 08 <crc>`: snappb `data` (field 2)
/// holding raftpb.Snapshot{data=1, metadata=2}, then snappb `crc` (field 1) = CRC32C of the
/// raftpb.Snapshot bytes.
struct EtcdSnapshotStreamEncoder: SnapshotStreamEncoder {
    private let metadataField: [UInt8]
    private let dataCount: Int
    private var crc: UInt32 = 0

    init(metadata: SnapshotMetadata, dataCount: Int) {
        var field: [UInt8] = []
        field.appendMessageField(2) { $0.appendSnapshotMetadata(metadata) }
        self.metadataField = field
        self.dataCount = dataCount
    }

    mutating func prefix() -> [UInt8] {
        var dataHeader: [UInt8] = []
        dataHeader.appendTag(1, .lengthDelimited)
        dataHeader.appendVarint(UInt64(dataCount))
        crc = CRC32C.update(0, dataHeader)
        var prefix: [UInt8] = []
        prefix.appendTag(2, .lengthDelimited)
        prefix.appendVarint(UInt64(dataHeader.count + dataCount + metadataField.count))
        return prefix + dataHeader
    }

    mutating func update(_ data: UnsafeRawBufferPointer) {
        crc = CRC32C.update(crc, data)
    }

    mutating func suffix() -> [UInt8] {
        crc = CRC32C.update(crc, metadataField)
        var suffix = metadataField
        suffix.appendVarintField(1, UInt64(crc))
        return suffix
    }
}
