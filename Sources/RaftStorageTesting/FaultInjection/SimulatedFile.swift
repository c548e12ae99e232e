import RaftStorage
import RaftFiles
import Synchronization

/// An open file of a ``FaultInjectingFileSystem``.
final class SimulatedFile: StorageFile {
    let path: String
    private let fileSystem: FaultInjectingFileSystem
    private let inode: Int
    private let handle: Int
    private let writable: Bool
    private let closed = Atomic<Bool>(false)

    init(fileSystem: FaultInjectingFileSystem, path: String, inode: Int, handle: Int, writable: Bool) {
        self.fileSystem = fileSystem
        self.path = path
        self.inode = inode
        self.handle = handle
        self.writable = writable
    }

    deinit { fileSystem.unlock(inode: inode, handle: handle) }

    private func checkOpen(writing: Bool = false) throws(StorageError) {
        guard !closed.load(ordering: .acquiring) else { throw StorageError(.closed, "file is closed", path: path) }
        if writing && !writable { throw StorageError(.io, "file not open for writing", path: path, errno: 9) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
        try checkOpen()
        let data = try fileSystem.contents(inode: inode, path: path)
        guard offset < Int64(data.count) else { return 0 }
        let count = min(buffer.count, data.count - Int(offset))
        data.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + Int(offset), byteCount: count)
        }
        return count
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        try checkOpen(writing: true)
        try fileSystem.write(bytes, at: offset, inode: inode, path: path)
    }

    func size() throws(StorageError) -> Int64 {
        try checkOpen()
        return Int64(try fileSystem.contents(inode: inode, path: path).count)
    }

    func truncate(to size: Int64) throws(StorageError) {
        try checkOpen(writing: true)
        try fileSystem.resize(to: size, inode: inode, path: path, preallocating: false)
    }

    func preallocate(to size: Int64) throws(StorageError) {
        try checkOpen(writing: true)
        try fileSystem.resize(to: size, inode: inode, path: path, preallocating: true)
    }

    func sync() throws(StorageError) {
        try checkOpen()
        try fileSystem.sync(inode: inode, path: path)
    }

    func syncData() throws(StorageError) {
        try sync()
    }

    func lock(wait: Bool) throws(StorageError) {
        try checkOpen()
        try fileSystem.lock(inode: inode, handle: handle, path: path)
    }

    func close() throws(StorageError) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        fileSystem.unlock(inode: inode, handle: handle)
    }
}
