import RaftStorage

/// The real file system with every file write dropped (`probe-write --discard-writes`): what
/// is left of the write path is its user-space work (framing, CRC), measured without the
/// kernel's page-cache copy and its noise.
struct DiscardingFileSystem: FileSystem {
    let base = PosixFileSystem()

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        DiscardingFile(try base.open(path, options, permissions: permissions))
    }

    func rename(_ source: String, to destination: String) throws(StorageError) { try base.rename(source, to: destination) }
    func removeFile(_ path: String) throws(StorageError) { try base.removeFile(path) }
    func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) { try base.createDirectory(path, permissions: permissions) }
    func removeDirectory(_ path: String) throws(StorageError) { try base.removeDirectory(path) }
    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] { try base.contentsOfDirectory(path) }
    func syncDirectory(_ path: String) throws(StorageError) { try base.syncDirectory(path) }
    func info(_ path: String) throws(StorageError) -> FileInfo? { try base.info(path) }
}

final class DiscardingFile: StorageFile {
    let file: any StorageFile

    init(_ file: any StorageFile) { self.file = file }

    var path: String { file.path }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int { try file.read(into: buffer, at: offset) }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {}
    func size() throws(StorageError) -> Int64 { try file.size() }
    func truncate(to size: Int64) throws(StorageError) { try file.truncate(to: size) }
    func preallocate(to size: Int64) throws(StorageError) { try file.preallocate(to: size) }
    func sync() throws(StorageError) { try file.sync() }
    func syncData() throws(StorageError) { try file.syncData() }
    func lock(wait: Bool) throws(StorageError) { try file.lock(wait: wait) }
    func close() throws(StorageError) { try file.close() }
}
