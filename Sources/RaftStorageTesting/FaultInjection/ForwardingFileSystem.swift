public import RaftStorage
public import RaftFiles

/// A ``RaftFiles/FileSystem`` that passes every call to ``base``: a wrapper conforms and
/// implements only the calls it changes (to fail, slow down, record or drop them).
///
/// ```swift
/// struct NoRenames: ForwardingFileSystem {
///     let base: any FileSystem = PosixFileSystem()
///     func rename(_ source: String, to destination: String) throws(StorageError) {
///         throw StorageError(.io, "simulated crash before rename", path: source)
///     }
/// }
/// ```
public protocol ForwardingFileSystem: FileSystem {
    /// Where every call the wrapper does not implement goes.
    var base: any FileSystem { get }
}

extension ForwardingFileSystem {
    /// Forwards to ``base``.
    public func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        try base.open(path, options, permissions: permissions)
    }
    /// Forwards to ``base``.
    public func rename(_ source: String, to destination: String) throws(StorageError) { try base.rename(source, to: destination) }
    /// Forwards to ``base``.
    public func removeFile(_ path: String) throws(StorageError) { try base.removeFile(path) }
    /// Forwards to ``base``.
    public func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) { try base.createDirectory(path, permissions: permissions) }
    /// Forwards to ``base``.
    public func removeDirectory(_ path: String) throws(StorageError) { try base.removeDirectory(path) }
    /// Forwards to ``base``.
    public func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] { try base.contentsOfDirectory(path) }
    /// Forwards to ``base``.
    public func syncDirectory(_ path: String) throws(StorageError) { try base.syncDirectory(path) }
    /// Forwards to ``base``.
    public func info(_ path: String) throws(StorageError) -> FileInfo? { try base.info(path) }
}

/// A ``RaftFiles/StorageFile`` that passes every call to ``base``: the files a
/// ``ForwardingFileSystem`` opens, implementing only the calls the wrapper changes.
public protocol ForwardingStorageFile: StorageFile {
    /// Where every call the wrapper does not implement goes.
    var base: any StorageFile { get }
}

extension ForwardingStorageFile {
    /// ``base``'s path.
    public var path: String { base.path }
    /// Forwards to ``base``.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int { try base.read(into: buffer, at: offset) }
    /// Forwards to ``base``.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) { try base.write(bytes, at: offset) }
    /// Forwards to ``base``.
    public func size() throws(StorageError) -> Int64 { try base.size() }
    /// Forwards to ``base``.
    public func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
    /// Forwards to ``base``.
    public func preallocate(to size: Int64) throws(StorageError) { try base.preallocate(to: size) }
    /// Forwards to ``base``.
    public func sync() throws(StorageError) { try base.sync() }
    /// Forwards to ``base``.
    public func syncData() throws(StorageError) { try base.syncData() }
    /// Forwards to ``base``.
    public func lock(wait: Bool) throws(StorageError) { try base.lock(wait: wait) }
    /// Forwards to ``base``.
    public func close() throws(StorageError) { try base.close() }
}
