import RaftStorage

/// How a WAL records which ``RaftFiles/RecordCodec`` wrote it (see `Docs/OnDiskFormat.md`).
///
/// A codec with a ``RaftFiles/RecordCodec/formatName`` writes its name in front of the application's
/// metadata, inside every metadata record:
///
///     00 "raftstore-codec:" <name, UTF-8> 00 <flag> [metadata]
///
/// where flag is 0 for absent metadata and 1 when metadata follows. etcd's metadata record holds
/// a protobuf message, which can never start with a 0x00 byte (field number 0 is illegal), so
/// etcd refuses such a WAL instead of misreading it, and a plain reader recognises it. A WAL
/// written with the plain codec (no name) has no tag, and the plain codec refuses to write
/// metadata that starts with the tag's first bytes, so the two can never be confused.
enum CodecTag {
    static let magic: [UInt8] = [0] + Array("raftstore-codec:".utf8)

    static func startsWithMagic(_ bytes: [UInt8]?) -> Bool {
        guard let bytes, bytes.count >= magic.count else { return false }
        return bytes[0..<magic.count].elementsEqual(magic)
    }

    /// The bytes to store in metadata records.
    static func wrap(_ metadata: [UInt8]?, formatName: String?) throws(StorageError) -> [UInt8]? {
        guard let formatName else {
            if startsWithMagic(metadata) {
                throw StorageError(.invalidArgument, "metadata must not start with the codec tag 00 'raftstore-codec:'")
            }
            return metadata
        }
        let name = Array(formatName.utf8)
        guard !name.contains(0) else { throw StorageError(.invalidArgument, "codec name contains a NUL byte") }
        var stored = magic + name
        stored.append(0)
        if let metadata {
            stored.append(1)
            stored += metadata
        } else {
            stored.append(0)
        }
        return stored
    }

    /// The application's metadata from a stored record, after checking that the WAL was
    /// written with a codec named `formatName`.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/codecMismatch`` when the names differ.
    static func unwrap(_ stored: [UInt8]?, formatName: String?) throws(StorageError) -> [UInt8]? {
        guard startsWithMagic(stored), let stored else {
            if let formatName {
                throw StorageError(.codecMismatch, "the WAL was written with etcd's plain record format, not with codec '\(formatName)'")
            }
            return stored
        }
        let rest = stored[magic.count...]
        guard let nul = rest.firstIndex(of: 0), nul + 1 < stored.endIndex else {
            throw StorageError(.corrupt, "malformed codec tag in the metadata record")
        }
        let name = String(decoding: stored[magic.count..<nul], as: UTF8.self)
        guard name == formatName else {
            throw StorageError(.codecMismatch, "the WAL was written with codec '\(name)', not \(formatName.map { "'\($0)'" } ?? "etcd's plain record format")")
        }
        switch stored[nul + 1] {
        case 0 where nul + 2 == stored.endIndex: return nil
        case 1: return Array(stored[(nul + 2)...])
        default: throw StorageError(.corrupt, "malformed codec tag in the metadata record")
        }
    }
}
