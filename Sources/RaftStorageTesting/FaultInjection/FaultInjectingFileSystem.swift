public import RaftStorage
public import RaftFiles
import Synchronization

/// An in-memory ``RaftFiles/FileSystem`` that simulates crashes and injects faults, for testing that a
/// durable backend never loses what it acknowledged.
///
/// - Crashes: ``crash(_:)`` throws away everything not yet durable - file contents not synced,
///   and names (creations, renames, removals) whose directory was not synced - keeping, as the
///   ``CrashOutcome`` says, none, all, or a torn prefix of the unsynced writes. With
///   ``crashAfter(operations:)`` the file system stops (every call throws) right after its n-th
///   mutating operation, which is how crash points are enumerated.
/// - Faults: ``inject(_:)`` makes matching calls fail: fsync (after which, as on Linux, the
///   unsynced data is lost even if a later fsync succeeds), writes with `ENOSPC`, reads with `EIO`.
///   ``capacity`` bounds the bytes all files may hold.
///
/// Paths are absolute within the simulation (`/wal/...`); relative ones start at the root.
public final class FaultInjectingFileSystem: FileSystem {
    /// What reaches the disk of the writes not yet synced when it crashes.
    public enum CrashOutcome: Sendable, Hashable {
        /// None of them: no unsynced data and no unsynced name (creation, rename, removal).
        case dropUnsynced
        /// All of them, in order, names included.
        case keepUnsynced
        /// The last unsynced write of `path` (or the latest unsynced write of any file) arrives
        /// torn: only its first half, in whole sectors (512 bytes or 4 KiB) counted from the
        /// start of the file, with the unsynced changes of that file before it; everything else
        /// unsynced is lost.
        case tearLastWrite(path: String? = nil, sectorSize: Int)
        /// Writes arrive out of order, as disk caches and some file systems deliver them (etcd
        /// #11220, #6379): each sector of each unsynced write arrives or not, by a coin seeded
        /// with `seed`, and each directory keeps all or none of its unsynced name changes.
        case scramble(seed: UInt64, sectorSize: Int = 512)
    }

    /// A fault to inject.
    public struct Fault: Sendable, Hashable {
        /// The kind of call a fault targets.
        public enum Operation: Sendable, Hashable {
            /// `fsync`/`fdatasync` of a file, and `fsync` of a directory.
            case sync
            /// A write to a file.
            case write
            /// Any call that reads: file contents, sizes, listings, `info`, locks.
            case read
            /// Preallocating (`fallocate`) a file.
            case preallocate
            /// Renaming a file.
            case rename
            /// Creating (or truncating on open) a file or directory.
            case create
        }

        /// The calls that fail.
        public var operation: Operation
        /// Only calls whose path contains this text fail; `nil` matches every path.
        public var pathContains: String?
        /// The errno reported.
        public var errno: Int32
        /// How many matching calls fail before the fault wears off.
        public var times: Int
        /// How many matching calls succeed before the first one fails, to aim a fault at the
        /// n-th sync, write, ... of a workload.
        public var skipping: Int

        /// A fault failing `times` calls of `operation` on paths containing `pathContains` with
        /// `errno`, after letting `skipping` of them succeed.
        public init(_ operation: Operation, pathContains: String? = nil, errno: Int32, times: Int = 1, skipping: Int = 0) {
            self.operation = operation
            self.pathContains = pathContains
            self.errno = errno
            self.times = times
            self.skipping = skipping
        }

        /// fsync and fdatasync fail with EIO.
        public static func syncFails(pathContains: String? = nil, times: Int = 1) -> Fault { Fault(.sync, pathContains: pathContains, errno: 5, times: times) }
        /// Writes fail with ENOSPC.
        public static func noSpace(pathContains: String? = nil, times: Int = 1) -> Fault { Fault(.write, pathContains: pathContains, errno: 28, times: times) }
        /// Reads fail with EIO.
        public static func readFails(pathContains: String? = nil, times: Int = 1) -> Fault { Fault(.read, pathContains: pathContains, errno: 5, times: times) }
    }

    /// Counts for reports.
    public struct Statistics: Sendable, Hashable {
        /// Operations that changed the simulated disk (creations, writes, resizes, renames,
        /// removals, syncs): the crash points.
        public var mutatingOperations = 0
        /// Injected faults that fired.
        public var faultsInjected = 0
        /// Simulated power failures (``FaultInjectingFileSystem/crash(_:)`` calls).
        public var crashes = 0
        /// Calls of each kind a ``Fault`` can target (failed ones included), so a fault can be
        /// aimed at each of them in turn with ``Fault/skipping``.
        public var calls: [Fault.Operation: Int] = [:]
    }

    struct State {
        var disk = SimulatedDisk()
        var faults: [Fault] = []
        var capacity: Int?
        var crashAt: Int?
        var stopped = false
        var statistics = Statistics()
        var nextHandle = 1
    }

    private let state = Mutex(State())

    /// An empty simulated disk holding only the root directory `/`.
    public init() {}

    // MARK: - Control

    /// The most bytes all files together may hold; writes and preallocation beyond fail with ENOSPC.
    public var capacity: Int? {
        get { state.withLock { $0.capacity } }
        set { state.withLock { $0.capacity = newValue } }
    }

    /// Makes the calls `fault` describes fail, until it wears off.
    public func inject(_ fault: Fault) {
        state.withLock { $0.faults.append(fault) }
    }

    /// Removes every injected fault that has not worn off yet.
    public func removeFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    /// Stops the file system right after its `count`-th mutating operation from now: that
    /// operation takes effect, every later call throws until ``crash(_:)``.
    public func crashAfter(operations count: Int) {
        state.withLock { $0.crashAt = $0.statistics.mutatingOperations + count }
    }

    /// Whether an armed crash point was reached.
    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// Simulates power loss: throws away what was not durable and lets calls work again. Open
    /// files from before the crash stay unusable.
    public func crash(_ outcome: CrashOutcome = .dropUnsynced) {
        state.withLock { state in
            let mapped: SimulatedDisk.CrashOutcome = switch outcome {
            case .dropUnsynced: .dropUnsynced
            case .keepUnsynced: .keepUnsynced
            case .tearLastWrite(let path, let sectorSize): .tearLastWrite(path: path, sectorSize: sectorSize)
            case .scramble(let seed, let sectorSize): .scramble(seed: seed, sectorSize: sectorSize)
            }
            state.disk.crash(mapped)
            state.crashAt = nil
            state.stopped = false
            state.statistics.crashes += 1
            state.nextHandle += 1_000_000
        }
    }

    /// Simulates the death of the process (a SIGKILL) while the machine runs on: the locks its
    /// files held are released, and what it wrote stays as it was, in the page cache: visible
    /// to the next process, durable only where it was synced, so a later ``crash(_:)`` still
    /// loses the rest. The dead process's objects must not be used afterwards.
    public func killProcess() {
        state.withLock { $0.disk.releaseLocks() }
    }

    /// What the file system has done so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// The current contents of a file, for tests that damage or inspect files directly.
    public func contents(of path: String) -> [UInt8]? {
        state.withLock { state in
            guard case .file(let id) = state.disk.lookup(path) else { return nil }
            return state.disk.inodes[id]?.data
        }
    }

    /// The permission bits a file or directory was created with (the simulation has no umask).
    public func permissions(of path: String) -> UInt32? {
        state.withLock { state in
            switch state.disk.lookup(path) {
            case .file(let id): state.disk.inodes[id]?.permissions
            case .directory: state.disk.directories[SimulatedDisk.normalize(path)]?.permissions
            case nil: nil
            }
        }
    }

    /// Every file under `directory` (recursively), as full paths, sorted.
    public func files(under directory: String) -> [String] {
        state.withLock { state in
            let root = SimulatedDisk.normalize(directory)
            var found: [String] = []
            func walk(_ path: String) {
                guard let entries = state.disk.directories[path]?.entries else { return }
                for (name, node) in entries {
                    let child = path == "/" ? "/" + name : path + "/" + name
                    switch node {
                    case .file: found.append(child)
                    case .directory: walk(child)
                    }
                }
            }
            walk(root)
            return found.sorted()
        }
    }

    /// Replaces a file's contents durably (for tests that corrupt files).
    public func setContents(of path: String, to bytes: [UInt8]) {
        state.withLock { state in
            guard case .file(let id) = state.disk.lookup(path) else { return }
            state.disk.inodes[id]?.data = bytes
            state.disk.inodes[id]?.durable = bytes
            state.disk.inodes[id]?.unsynced = []
        }
    }

    // MARK: - Internals shared with handles

    /// Runs a mutating operation: refuses when stopped, applies an injected fault, counts it,
    /// and stops the file system when the armed crash point is reached.
    func mutate<R>(_ operation: Fault.Operation?, path: String, _ body: (inout State) throws(StorageError) -> R) throws(StorageError) -> R {
        try state.withLock { (state) throws(StorageError) -> R in
            guard !state.stopped else { throw StorageError(.io, "simulated crash: the file system is down", path: path, errno: 5) }
            if let operation, let errno = Self.takeFault(operation, path: path, from: &state) {
                if operation == .sync { Self.loseUnsynced(path: path, in: &state) }
                throw StorageError(.io, "injected fault", path: path, errno: errno)
            }
            let result = try body(&state)
            state.statistics.mutatingOperations += 1
            if let crashAt = state.crashAt, state.statistics.mutatingOperations >= crashAt { state.stopped = true }
            return result
        }
    }

    func read<R>(path: String, _ body: (inout State) throws(StorageError) -> R) throws(StorageError) -> R {
        try state.withLock { (state) throws(StorageError) -> R in
            guard !state.stopped else { throw StorageError(.io, "simulated crash: the file system is down", path: path, errno: 5) }
            if let errno = Self.takeFault(.read, path: path, from: &state) {
                throw StorageError(.io, "injected fault", path: path, errno: errno)
            }
            return try body(&state)
        }
    }

    private static func takeFault(_ operation: Fault.Operation, path: String, from state: inout State) -> Int32? {
        state.statistics.calls[operation, default: 0] += 1
        guard let index = state.faults.firstIndex(where: { $0.operation == operation && ($0.pathContains.map(path.contains) ?? true) }) else {
            return nil
        }
        if state.faults[index].skipping > 0 {
            state.faults[index].skipping -= 1
            return nil
        }
        let errno = state.faults[index].errno
        state.faults[index].times -= 1
        if state.faults[index].times <= 0 { state.faults.remove(at: index) }
        state.statistics.faultsInjected += 1
        return errno
    }

    /// After a failed fsync the kernel may have dropped the dirty pages: the data stays visible
    /// until a crash, but no later fsync will make it durable (the "fsyncgate" behaviour).
    private static func loseUnsynced(path: String, in state: inout State) {
        guard case .file(let id) = state.disk.lookup(path) else { return }
        state.disk.inodes[id]?.unsynced = []
    }

    static func checkCapacity(_ state: State, growingBy bytes: Int, path: String) throws(StorageError) {
        if let capacity = state.capacity, bytes > 0, state.disk.totalBytes + bytes > capacity {
            throw StorageError(.io, "no space left on device (simulated)", path: path, errno: 28)
        }
    }

    // MARK: - FileSystem

    public func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        let creating = options.contains(.create) || options.contains(.truncate)
        let (id, handle) = try (creating ? mutate(.create, path: path, { (s) throws(StorageError) in try Self.openFile(path, options, permissions, &s) })
            : read(path: path, { (s) throws(StorageError) in try Self.openFile(path, options, permissions, &s) }))
        return SimulatedFile(fileSystem: self, path: path, inode: id, handle: handle, writable: options.contains(.write))
    }

    private static func openFile(_ path: String, _ options: OpenOptions, _ permissions: UInt32, _ state: inout State) throws(StorageError) -> (Int, Int) {
        let handle = state.nextHandle
        state.nextHandle += 1
        switch state.disk.lookup(path) {
        case .directory:
            throw StorageError(.io, "is a directory", path: path, errno: 21)
        case .file(let id):
            if options.contains(.create) && options.contains(.exclusive) {
                throw StorageError(.alreadyExists, "file exists", path: path, errno: 17)
            }
            if options.contains(.truncate), state.disk.inodes[id]!.data.count > 0 {
                state.disk.inodes[id]!.data = []
                state.disk.inodes[id]!.unsynced.append(.resize(0))
            }
            return (id, handle)
        case nil:
            guard options.contains(.create) else { throw StorageError(.notFound, "no such file", path: path, errno: 2) }
            let parent = try state.disk.parentDirectory(of: path)
            let id = state.disk.nextInode
            state.disk.nextInode += 1
            state.disk.inodes[id] = SimulatedDisk.Inode(permissions: permissions)
            state.disk.directories[parent]!.entries[SimulatedDisk.split(path).name] = .file(id)
            return (id, handle)
        }
    }

    public func rename(_ source: String, to destination: String) throws(StorageError) {
        try mutate(.rename, path: source) { (state) throws(StorageError) in
            guard let node = state.disk.lookup(source) else { throw StorageError(.notFound, "no such file", path: source, errno: 2) }
            guard case .file = node else { throw StorageError(.unsupported, "renaming directories is not simulated", path: source) }
            let from = SimulatedDisk.split(source)
            let to = SimulatedDisk.split(destination)
            guard state.disk.directories[to.parent] != nil else {
                throw StorageError(.notFound, "target directory does not exist", path: destination, errno: 2)
            }
            state.disk.directories[from.parent]!.entries[from.name] = nil
            state.disk.directories[to.parent]!.entries[to.name] = node
        }
    }

    public func removeFile(_ path: String) throws(StorageError) {
        try mutate(nil, path: path) { (state) throws(StorageError) in
            guard case .file = state.disk.lookup(path) else { throw StorageError(.notFound, "no such file", path: path, errno: 2) }
            let (parent, name) = SimulatedDisk.split(path)
            state.disk.directories[parent]!.entries[name] = nil
        }
    }

    public func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) {
        if case .directory = (try read(path: path) { $0.disk.lookup(path) }) { return }
        try mutate(.create, path: path) { (state) throws(StorageError) in
            guard state.disk.lookup(path) == nil else { throw StorageError(.alreadyExists, "a file has that name", path: path, errno: 17) }
            let parent = try state.disk.parentDirectory(of: path)
            state.disk.directories[parent]!.entries[SimulatedDisk.split(path).name] = .directory
            state.disk.directories[SimulatedDisk.normalize(path)] = SimulatedDisk.Directory(permissions: permissions)
        }
    }

    public func removeDirectory(_ path: String) throws(StorageError) {
        try mutate(nil, path: path) { (state) throws(StorageError) in
            let normal = SimulatedDisk.normalize(path)
            guard let directory = state.disk.directories[normal] else { throw StorageError(.notFound, "no such directory", path: path, errno: 2) }
            guard directory.entries.isEmpty else { throw StorageError(.io, "directory not empty", path: path, errno: 39) }
            let (parent, name) = SimulatedDisk.split(normal)
            state.disk.directories[parent]!.entries[name] = nil
            state.disk.directories[normal] = nil
        }
    }

    public func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        try read(path: path) { (state) throws(StorageError) in
            guard let directory = state.disk.directories[SimulatedDisk.normalize(path)] else {
                throw StorageError(.notFound, "no such directory", path: path, errno: 2)
            }
            return Array(directory.entries.keys)
        }
    }

    public func syncDirectory(_ path: String) throws(StorageError) {
        try mutate(.sync, path: path) { (state) throws(StorageError) in
            let normal = SimulatedDisk.normalize(path)
            guard state.disk.directories[normal] != nil else { throw StorageError(.notFound, "no such directory", path: path, errno: 2) }
            state.disk.directories[normal]!.durable = state.disk.directories[normal]!.entries
        }
    }

    public func info(_ path: String) throws(StorageError) -> FileInfo? {
        try read(path: path) { state in
            switch state.disk.lookup(path) {
            case nil: nil
            case .directory: FileInfo(size: 0, isDirectory: true)
            case .file(let id): FileInfo(size: Int64(state.disk.inodes[id]!.data.count), isDirectory: false)
            }
        }
    }

    // MARK: - Handle operations

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64, inode: Int, path: String) throws(StorageError) {
        let copy = [UInt8](bytes)
        try mutate(.write, path: path) { (state) throws(StorageError) in
            let current = state.disk.inodes[inode]!.data.count
            try Self.checkCapacity(state, growingBy: Int(offset) + copy.count - current, path: path)
            state.disk.write(copy, at: Int(offset), inode: inode)
        }
    }

    func resize(to size: Int64, inode: Int, path: String, preallocating: Bool) throws(StorageError) {
        try mutate(preallocating ? .preallocate : nil, path: path) { (state) throws(StorageError) in
            let current = state.disk.inodes[inode]!.data.count
            if preallocating && Int(size) <= current { return }
            try Self.checkCapacity(state, growingBy: Int(size) - current, path: path)
            SimulatedDisk.resize(&state.disk.inodes[inode]!.data, to: Int(size))
            state.disk.inodes[inode]!.unsynced.append(.resize(Int(size)))
        }
    }

    func sync(inode: Int, path: String) throws(StorageError) {
        try mutate(.sync, path: path) { state in
            state.disk.inodes[inode]!.durable = SimulatedDisk.synced(state.disk.inodes[inode]!)
            state.disk.inodes[inode]!.unsynced = []
        }
    }

    func contents(inode: Int, path: String) throws(StorageError) -> [UInt8] {
        try read(path: path) { (state) throws(StorageError) in
            guard let inode = state.disk.inodes[inode] else { throw StorageError(.io, "stale file handle", path: path, errno: 116) }
            return inode.data
        }
    }

    func lock(inode: Int, handle: Int, path: String) throws(StorageError) {
        try read(path: path) { (state) throws(StorageError) in
            guard let holder = state.disk.inodes[inode]?.lockHolder, holder != handle else {
                state.disk.inodes[inode]?.lockHolder = handle
                return
            }
            throw StorageError(.locked, "file already locked", path: path, errno: 11)
        }
    }

    func unlock(inode: Int, handle: Int) {
        state.withLock { state in
            if state.disk.inodes[inode]?.lockHolder == handle { state.disk.inodes[inode]?.lockHolder = nil }
        }
    }
}

extension FaultInjectingFileSystem.CrashOutcome {
    /// Whether later writes may arrive while earlier ones do not (``scramble(seed:sectorSize:)``).
    public var reordersWrites: Bool {
        if case .scramble = self { true } else { false }
    }

    /// The same outcome, with a scramble's seed mixed with `point`, so each crash point of an
    /// enumeration gets its own pattern and the run stays reproducible.
    func varied(by point: Int) -> Self {
        guard case .scramble(let seed, let sectorSize) = self else { return self }
        return .scramble(seed: seed &+ UInt64(point) &* 0x9E37_79B9_7F4A_7C15, sectorSize: sectorSize)
    }
}

extension FaultInjectingFileSystem.CrashOutcome {
    /// The outcomes the crash-consistency checkers try at every crash point: unsynced writes
    /// dropped, kept, torn at 512 bytes and at 4 KiB, and scrambled.
    public static var standard: [Self] {
        [.dropUnsynced, .keepUnsynced, .tearLastWrite(sectorSize: 512), .tearLastWrite(sectorSize: 4096), .scramble(seed: 1)]
    }
}

extension FaultInjectingFileSystem.Fault {
    /// The faults the checkers aim at every call in turn: fsync fails (losing the unsynced
    /// data, as Linux may), a write fails with `ENOSPC`, preallocation fails with `ENOSPC`.
    public static var standard: [Self] {
        [.syncFails(), .noSpace(), Self(.preallocate, errno: 28)]
    }
}
