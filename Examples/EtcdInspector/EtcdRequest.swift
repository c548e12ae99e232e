import RaftStorage

/// Just enough of etcd's `etcdserverpb.InternalRaftRequest` to show a put: the request's field
/// 4 is a `PutRequest` whose fields 1 and 2 are the key and the value. Everything else is
/// summarised by its size.
enum EtcdRequest {
    static func describe(_ entry: Entry) -> String {
        guard entry.type == .normal else { return "\(entry.type) (\(entry.data?.count ?? 0) bytes)" }
        guard let data = entry.data, !data.isEmpty else { return "empty (a new leader's first entry)" }
        if let put = field(4, in: data[...]), let key = field(1, in: put) {
            let value = field(2, in: put) ?? []
            return "put \(text(key)) = \(text(value))"
        }
        return "request of \(data.count) bytes"
    }

    /// The bytes of length-delimited field `number`, or `nil`.
    private static func field(_ number: UInt64, in bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var index = bytes.startIndex
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.endIndex, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        while index < bytes.endIndex {
            guard let key = varint() else { return nil }
            switch key & 7 {
            case 0: guard varint() != nil else { return nil }
            case 1: index += 8
            case 5: index += 4
            case 2:
                guard let length = varint(), length <= UInt64(bytes.endIndex - index) else { return nil }
                let end = index + Int(length)
                if key >> 3 == number { return bytes[index..<end] }
                index = end
            default: return nil
            }
        }
        return nil
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        let string = String(decoding: bytes.prefix(60), as: UTF8.self)
        return bytes.count > 60 ? string + "..." : string
    }
}
