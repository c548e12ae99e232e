import RaftStorage
import RaftFiles
import RaftStorageTesting

/// The real file system with every file write dropped (`probe-write --discard-writes`): what
/// is left of the write path is its user-space work (framing, CRC), measured without the
/// kernel's page-cache copy and its noise.
struct DiscardingFileSystem: ForwardingFileSystem {
    let base: any FileSystem = PosixFileSystem()

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        DiscardingFile(base: try base.open(path, options, permissions: permissions))
    }
}

final class DiscardingFile: ForwardingStorageFile {
    let base: any StorageFile

    init(base: any StorageFile) { self.base = base }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {}
}
