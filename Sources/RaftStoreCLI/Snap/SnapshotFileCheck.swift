import EtcdStorage
import LZ4Snapshots
import RaftStorage
import RaftFiles

/// Loads one snapshot file the way a restart does, through its store, without changing
/// anything (``ReadOnlyFileSystem``), streaming the data through SHA-256 in bounded memory.
enum SnapshotFileCheck {
    struct Loaded {
        var metadata: SnapshotMetadata
        var dataCount: Int
        var sha256: [UInt8]
    }

    /// - Throws: ``RaftStorage/StorageError`` with the reason the store found the file unreadable (a
    ///   checksum, a truncation, content that disagrees with the file name), naming the file
    ///   and offset.
    static func load(_ file: SnapshotFileListing.SnapshotFile) throws(StorageError) -> Loaded {
        let fileSystem = ReadOnlyFileSystem()
        let collector = LogCollector()
        let directory = Paths.fileSystem.parentDirectory(of: file.path)
        let store: any StreamingSnapshotStore = switch file.format {
        case .etcd:
            try EtcdSnapshotStore(directory: directory, fileSystem: fileSystem, logger: collector.logger)
        case .lz4:
            try LZ4SnapshotStore(directory: directory, codec: ProtobufRecordCodec(), fileSystem: fileSystem, logger: collector.logger)
        }
        var hasher = SHA256()
        var count = 0
        let metadata = try store.loadNewest(matching: [file.marker]) { (event) throws(StorageError) in
            switch event {
            case .start:
                hasher = SHA256()
                count = 0
            case .data(let bytes):
                hasher.update(bytes)
                count += bytes.count
            }
        }
        guard let metadata else {
            // The reason names the file and offset already.
            throw StorageError(.corrupt, reason(for: file, fileSystem: fileSystem, messages: collector.messages))
        }
        return Loaded(metadata: metadata, dataCount: count, sha256: hasher.finalize())
    }

    /// Why the store would have set the file aside, from the warning it logged.
    private static func reason(for file: SnapshotFileListing.SnapshotFile, fileSystem: ReadOnlyFileSystem, messages: [String]) -> String {
        if let rename = fileSystem.requestedRenames.first(where: { $0.source == file.path }) {
            let prefix = "set aside unreadable snapshot \(file.path) as \(rename.destination): "
            if let message = messages.first(where: { $0.hasPrefix(prefix) }) {
                return "a load would set it aside: " + message.dropFirst(prefix.count)
            }
        }
        return "\(file.path) is unreadable: " + (messages.last ?? "the store could not load it")
    }
}
