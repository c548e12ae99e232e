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
            throw reason(for: file, fileSystem: fileSystem, messages: collector.messages)
        }
        return Loaded(metadata: metadata, dataCount: count, sha256: hasher.finalize())
    }

    /// Why the store would have set the file aside, from the warning it logged: the store's
    /// own error code leads, once (`crcMismatch: a load would set it aside: LZ4 content
    /// checksum mismatch (<file> at offset 9222)`).
    private static func reason(for file: SnapshotFileListing.SnapshotFile, fileSystem: ReadOnlyFileSystem, messages: [String]) -> StorageError {
        if let rename = fileSystem.requestedRenames.first(where: { $0.source == file.path }) {
            let prefix = "set aside unreadable snapshot \(file.path) as \(rename.destination): "
            if let message = messages.first(where: { $0.hasPrefix(prefix) }) {
                let (code, rest) = splitCode(message.dropFirst(prefix.count))
                return StorageError(code ?? .corrupt, "a load would set it aside: " + rest)
            }
        }
        let (code, rest) = splitCode(Substring(messages.last ?? "the store could not load it"))
        return StorageError(code ?? .corrupt, "\(file.path) is unreadable: " + rest)
    }

    /// `crcMismatch: text` as the code and `text`: a ``RaftStorage/StorageError``'s description
    /// starts with its code, a camel-case word; anything else has no code.
    static func splitCode(_ text: Substring) -> (StorageError.Code?, String) {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix(": ") else { return (nil, String(text)) }
        let word = text[..<colon]
        guard let first = word.first, first.isASCII, first.isLowercase,
              word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return (nil, String(text)) }
        return (StorageError.Code(String(word)), String(text[text.index(colon, offsetBy: 2)...]))
    }
}
