import RaftStorage
import RaftFiles
import Synchronization

/// The disk as the read-only commands see it: reads go through, changes never happen.
///
/// `snap show`, `snap verify` and `inspect` load snapshots through the real stores, so a file is
/// checked exactly as a restart checks it. A store sets a damaged file aside by renaming it and
/// removes leftover temporary files; over this file system those changes are recorded instead
/// of made (and reported as done, so the store carries on), and opening a file for writing fails.
final class ReadOnlyFileSystem: FileSystem {
    private let base = PosixFileSystem()
    private let renames = Mutex<[(source: String, destination: String)]>([])

    /// The renames a store asked for: the files it would have set aside.
    var requestedRenames: [(source: String, destination: String)] { renames.withLock { $0 } }

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        guard options.isDisjoint(with: [.write, .create, .truncate]) else {
            throw StorageError(.unsupported, "read-only inspection does not write", path: path)
        }
        return try base.open(path, options, permissions: permissions)
    }

    func rename(_ source: String, to destination: String) throws(StorageError) {
        renames.withLock { $0.append((source, destination)) }
    }

    func removeFile(_ path: String) throws(StorageError) {}

    func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) {
        guard try base.info(path)?.isDirectory == true else {
            throw StorageError(.notFound, "no such directory", path: path)
        }
    }

    func removeDirectory(_ path: String) throws(StorageError) {}

    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        try base.contentsOfDirectory(path)
    }

    func syncDirectory(_ path: String) throws(StorageError) {}

    func info(_ path: String) throws(StorageError) -> FileInfo? {
        try base.info(path)
    }
}
