import RaftStorage
import Synchronization

/// A file system over the real one that can fail or slow down fsync, and counts syncs.
final class FlakyFileSystem: FileSystem {
    struct Settings {
        var failDataSync = false
        var syncDelay: Duration = .zero
        var dataSyncs = 0
    }

    let settings = Mutex(Settings())
    private let real = PosixFileSystem()

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        FlakyFile(real: try real.open(path, options, permissions: permissions), owner: self)
    }

    func rename(_ source: String, to destination: String) throws(StorageError) { try real.rename(source, to: destination) }
    func removeFile(_ path: String) throws(StorageError) { try real.removeFile(path) }
    func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) { try real.createDirectory(path, permissions: permissions) }
    func removeDirectory(_ path: String) throws(StorageError) { try real.removeDirectory(path) }
    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] { try real.contentsOfDirectory(path) }
    func syncDirectory(_ path: String) throws(StorageError) { try real.syncDirectory(path) }
    func info(_ path: String) throws(StorageError) -> FileInfo? { try real.info(path) }
}

final class FlakyFile: StorageFile {
    let real: any StorageFile
    let owner: FlakyFileSystem

    init(real: any StorageFile, owner: FlakyFileSystem) {
        self.real = real
        self.owner = owner
    }

    var path: String { real.path }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int { try real.read(into: buffer, at: offset) }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) { try real.write(bytes, at: offset) }
    func size() throws(StorageError) -> Int64 { try real.size() }
    func truncate(to size: Int64) throws(StorageError) { try real.truncate(to: size) }
    func preallocate(to size: Int64) throws(StorageError) { try real.preallocate(to: size) }
    func sync() throws(StorageError) { try real.sync() }

    func syncData() throws(StorageError) {
        let (fail, delay) = owner.settings.withLock { settings in
            settings.dataSyncs += 1
            return (settings.failDataSync, settings.syncDelay)
        }
        if delay > .zero {
            let clock = ContinuousClock()
            let end = clock.now + delay
            while clock.now < end {}
        }
        if fail { throw StorageError(.io, "injected fdatasync failure", path: path, errno: 5) }
        try real.syncData()
    }

    func lock(wait: Bool) throws(StorageError) { try real.lock(wait: wait) }
    func close() throws(StorageError) { try real.close() }
}
