public import RaftStorage
/// The file-system operations the durable backends use, as a seam.
///
/// The WAL and the snapshot stores do all their I/O through a `FileSystem`, so tests can swap in
/// one that injects faults: `RaftStorageTesting.FaultInjectingFileSystem` drops unsynced writes
/// on a simulated crash, tears writes, and fails fsync, writes and reads. The default is
/// ``PosixFileSystem``.
///
/// Paths are plain strings; ``FileSystem/join(_:_:)`` builds them.
///
/// ## Implementation requirements
///
/// - Every method reports failure as a ``RaftStorage/StorageError`` naming the path (code
///   ``RaftStorage/StorageError/Code/io`` with the errno, ``RaftStorage/StorageError/Code/notFound`` for a missing file,
///   ``RaftStorage/StorageError/Code/alreadyExists`` for an exclusive create of an existing one,
///   ``RaftStorage/StorageError/Code/locked`` from ``StorageFile/lock(wait:)`` when another holder has it).
/// - A rename, creation or removal is durable only after ``syncDirectory(_:)`` of the directory
///   that holds the name; data is durable only after ``StorageFile/sync()`` or
///   ``StorageFile/syncData()``.
public protocol FileSystem: Sendable {
    /// Opens (and with `.create`, creates) a file. New files get `permissions`.
    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile

    /// Renames `source` to `destination`, replacing it if it exists.
    func rename(_ source: String, to destination: String) throws(StorageError)

    /// Removes a file.
    func removeFile(_ path: String) throws(StorageError)

    /// Creates a directory (not its parents). It is not an error if it exists already.
    func createDirectory(_ path: String, permissions: UInt32) throws(StorageError)

    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws(StorageError)

    /// The names in a directory, without `.` and `..`, in no particular order.
    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String]

    /// fsyncs a directory, making renames, creations and removals in it durable.
    func syncDirectory(_ path: String) throws(StorageError)

    /// What is at `path`, or `nil` when nothing is.
    func info(_ path: String) throws(StorageError) -> FileInfo?
}

/// How to open a file.
public struct OpenOptions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Open for reading.
    public static let read = OpenOptions(rawValue: 1 << 0)
    /// Open for writing.
    public static let write = OpenOptions(rawValue: 1 << 1)
    /// Create the file when it does not exist.
    public static let create = OpenOptions(rawValue: 1 << 2)
    /// With `.create`: fail with ``RaftStorage/StorageError/Code/alreadyExists`` when it exists.
    public static let exclusive = OpenOptions(rawValue: 1 << 3)
    /// Cut the file to zero length.
    public static let truncate = OpenOptions(rawValue: 1 << 4)

    /// Open for reading and writing.
    public static let readWrite: OpenOptions = [.read, .write]
}

/// What ``FileSystem/info(_:)`` reports.
public struct FileInfo: Hashable, Sendable {
    /// The size in bytes.
    public var size: Int64
    /// Whether it is a directory.
    public var isDirectory: Bool

    /// What a file system reports for one path.
    public init(size: Int64, isDirectory: Bool) {
        self.size = size
        self.isDirectory = isDirectory
    }
}

/// An open file. All I/O is positional (`pread`/`pwrite`), so a file has no cursor to share.
///
/// Closing releases any lock. Using a file after ``close()`` throws ``RaftStorage/StorageError/Code/closed``.
public protocol StorageFile: AnyObject, Sendable {
    var path: String { get }

    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError)

    func size() throws(StorageError) -> Int64

    /// Cuts or extends the file to `size` bytes.
    func truncate(to size: Int64) throws(StorageError)

    /// Reserves blocks so the file is `size` bytes long, for fewer short writes and a clear
    /// out-of-space error early (`fallocate`, falling back to extending the file).
    func preallocate(to size: Int64) throws(StorageError)

    /// `fsync`: data and metadata durable.
    func sync() throws(StorageError)

    /// `fdatasync`: data durable, plus the metadata needed to read it back.
    func syncData() throws(StorageError)

    /// Takes an exclusive lock on the whole file. With `wait: false` it throws
    /// ``RaftStorage/StorageError/Code/locked`` at once when another open file holds it, even one in this
    /// process. Closing the file releases it.
    func lock(wait: Bool) throws(StorageError)

    func close() throws(StorageError)

    /// The parts of `range` that may hold data, in order: the rest reads as zeros without
    /// being read (holes and preallocated blocks never written, `SEEK_DATA`/`SEEK_HOLE`). The
    /// default, for files that cannot tell, is `range` itself: callers then read every byte.
    func dataRanges(in range: Range<Int64>) throws(StorageError) -> [Range<Int64>]
}

extension StorageFile {
    /// Every byte may hold data: callers read them all.
    public func dataRanges(in range: Range<Int64>) throws(StorageError) -> [Range<Int64>] {
        range.isEmpty ? [] : [range]
    }
}

extension FileSystem {
    /// `directory/name`.
    public func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Whether something exists at `path`; errors count as no.
    public func fileExists(_ path: String) -> Bool {
        ((try? info(path)) ?? nil) != nil
    }

    /// Where the file at `path` goes when it is set aside: `<path>.broken`, or
    /// `<path>.broken.<n>` with the first `n` that names nothing, so a file set aside earlier,
    /// perhaps the only copy of what it holds, is never replaced.
    package func setAsidePath(for path: String) -> String {
        var candidate = path + ".broken"
        var attempt = 0
        while fileExists(candidate) {
            attempt += 1
            candidate = path + ".broken.\(attempt)"
        }
        return candidate
    }

    /// Reads a whole file, refusing files larger than `maxSize` rather than allocating them.
    public func readFile(_ path: String, maxSize: Int64 = 1 << 34) throws(StorageError) -> [UInt8] {
        let file = try open(path, .read, permissions: 0)
        defer { try? file.close() }
        let size = try file.size()
        guard size <= maxSize else {
            throw StorageError(.invalidArgument, "file is \(size) bytes, more than the \(maxSize) allowed", path: path)
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let count = try bytes.withMutableRawBytes { (buffer) throws(StorageError) in
            try file.read(into: buffer, at: 0)
        }
        if count < bytes.count { bytes.removeLast(bytes.count - count) }
        return bytes
    }

    /// Replaces `path` with `bytes` atomically and durably: writes a temporary file beside it,
    /// fsyncs it, renames it over `path` and fsyncs the directory. A crash leaves the old file or
    /// the new one, never a mix; a stale temporary file may remain.
    public func writeFileAtomically(_ path: String, _ bytes: [UInt8], permissions: UInt32 = 0o600) throws(StorageError) {
        let temporary = path + ".tmp"
        let file = try open(temporary, [.write, .create, .truncate], permissions: permissions)
        do {
            try bytes.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
            try file.sync()
            try file.close()
            try rename(temporary, to: path)
        } catch {
            try? file.close()
            try? removeFile(temporary)
            throw error
        }
        try syncDirectory(parentDirectory(of: path))
    }

    /// The directory part of `path` (`.` for a bare name).
    public func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
