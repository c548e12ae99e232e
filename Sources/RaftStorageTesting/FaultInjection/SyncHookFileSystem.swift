public import RaftStorage
public import RaftFiles

/// A ``RaftFiles/FileSystem`` that forwards every call to another one, except that each sync
/// goes through a hook first: to count fsyncs, slow them down, block them, fail them, or skip them.
///
/// A backend's tests use it to check how often the backend syncs (group commit: one fdatasync per
/// group; raft's MustSync rule), how it reacts to a slow or failing sync, or to run thousands of
/// writes fast where durability does not matter. Everything but the syncs reaches `base` unchanged.
///
/// ```swift
/// let syncs = Mutex(0)
/// let fileSystem = SyncHookFileSystem { kind, _, perform throws(StorageError) in
///     if kind == .data { syncs.withLock { $0 += 1 } }
///     try perform()
/// }
/// ```
public struct SyncHookFileSystem: ForwardingFileSystem {
    /// The sync call a hook is asked about.
    public enum Sync: Sendable, Hashable {
        /// ``RaftFiles/StorageFile/sync()`` (fsync) of a file.
        case file
        /// ``RaftFiles/StorageFile/syncData()`` (fdatasync) of a file.
        case data
        /// ``RaftFiles/FileSystem/syncDirectory(_:)`` (fsync of a directory).
        case directory
    }

    /// Decides what a sync does: called with the kind of sync, the path of the file or directory,
    /// and `perform`, the sync of the base file system. The sync happens only if the hook calls
    /// `perform`; whatever the hook throws, the caller of the sync sees.
    public typealias Hook = @Sendable (
        _ sync: Sync, _ path: String, _ perform: () throws(StorageError) -> Void
    ) throws(StorageError) -> Void

    /// The file system every call goes to.
    public let base: any FileSystem
    private let hook: Hook

    /// Wraps `base` (by default the real POSIX file system) so that each sync runs through `hook`.
    public init(base: any FileSystem = PosixFileSystem(), hook: @escaping Hook) {
        self.base = base
        self.hook = hook
    }

    /// `base` with every sync skipped, for tests that write many files and care about their
    /// content, not their durability (and for benchmarks that show what durability costs).
    public static func withoutSyncs(base: any FileSystem = PosixFileSystem()) -> SyncHookFileSystem {
        SyncHookFileSystem(base: base) { _, _, _ in }
    }

    /// Opens `path` on the base file system; the file's syncs go through the hook.
    public func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        HookedFile(base: try base.open(path, options, permissions: permissions), hook: hook)
    }

    /// Runs the hook with `.directory`; the directory is synced if the hook performs it.
    public func syncDirectory(_ path: String) throws(StorageError) {
        try hook(.directory, path) { () throws(StorageError) in try base.syncDirectory(path) }
    }
}

/// A file of ``SyncHookFileSystem``: the base file, with its syncs going through the hook.
private final class HookedFile: ForwardingStorageFile {
    let base: any StorageFile
    let hook: SyncHookFileSystem.Hook

    init(base: any StorageFile, hook: @escaping SyncHookFileSystem.Hook) {
        self.base = base
        self.hook = hook
    }

    func sync() throws(StorageError) { try hook(.file, base.path) { () throws(StorageError) in try base.sync() } }
    func syncData() throws(StorageError) { try hook(.data, base.path) { () throws(StorageError) in try base.syncData() } }
}
