import RaftStorage

/// etcd's WAL metadata, `etcdserverpb.Metadata{NodeID: 1, ClusterID: 2}` (two varint fields).
struct EtcdMetadata {
    var nodeID: UInt64
    var clusterID: UInt64

    /// Decodes `bytes`, or `nil` when they are not exactly that message (another application's
    /// metadata).
    init?(_ bytes: [UInt8]) {
        var fields: [UInt64: UInt64] = [:]
        var offset = 0
        while offset < bytes.count {
            guard let key = bytes.readVarint(at: &offset), key & 7 == 0, let value = bytes.readVarint(at: &offset) else { return nil }
            fields[key >> 3] = value
        }
        guard Set(fields.keys).isSubset(of: [1, 2]) else { return nil }
        nodeID = fields[1] ?? 0
        clusterID = fields[2] ?? 0
    }

    var description: String {
        "node id \(String(nodeID, radix: 16)), cluster id \(String(clusterID, radix: 16))"
    }
}
