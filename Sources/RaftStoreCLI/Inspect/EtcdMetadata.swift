/// etcd's WAL metadata, `etcdserverpb.Metadata{NodeID: 1, ClusterID: 2}` (two varint fields).
struct EtcdMetadata {
    var nodeID: UInt64
    var clusterID: UInt64

    /// Decodes `bytes`, or `nil` when they are not exactly that message (another application's
    /// metadata).
    init?(_ bytes: [UInt8]) {
        var fields: [UInt64: UInt64] = [:]
        var offset = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while offset < bytes.count, shift < 64 {
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        while offset < bytes.count {
            guard let key = varint(), key & 7 == 0, let value = varint() else { return nil }
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
