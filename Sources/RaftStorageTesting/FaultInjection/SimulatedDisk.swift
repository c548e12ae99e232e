import RaftStorage

/// The state behind ``FaultInjectingFileSystem``: an in-memory tree of directories and files
/// that tracks, for every file and every directory, what is durable and what is not yet.
///
/// File contents become durable on `sync`/`syncData` of the file; names (creations, renames,
/// removals) become durable on `syncDirectory` of the directory holding them, as on a strict
/// POSIX file system (ext4 `data=ordered` gives more, never less). A crash throws away
/// everything not durable.
struct SimulatedDisk {
    /// A file's contents, shared by every name and handle that refers to it.
    struct Inode {
        var data: [UInt8] = []
        var durable: [UInt8] = []
        /// Changes since the last sync, oldest first, so a crash can keep a torn prefix of them.
        var unsynced: [Change] = []
        /// The open handle holding the lock, if any.
        var lockHolder: Int?
    }

    enum Change {
        case write(offset: Int, bytes: [UInt8])
        case resize(Int)
    }

    enum Node: Hashable {
        case file(Int)
        case directory
    }

    struct Directory {
        var entries: [String: Node] = [:]
        var durable: [String: Node] = [:]
    }

    var inodes: [Int: Inode] = [:]
    var directories: [String: Directory] = ["/": Directory()]
    var nextInode = 1

    // MARK: - Paths

    static func normalize(_ path: String) -> String {
        "/" + path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
    }

    static func split(_ path: String) -> (parent: String, name: String) {
        let normal = normalize(path)
        let slash = normal.lastIndex(of: "/")!
        let parent = slash == normal.startIndex ? "/" : String(normal[..<slash])
        return (parent, String(normal[normal.index(after: slash)...]))
    }

    func lookup(_ path: String) -> Node? {
        let normal = Self.normalize(path)
        if normal == "/" { return .directory }
        let (parent, name) = Self.split(normal)
        return directories[parent]?.entries[name]
    }

    func inodeID(_ path: String) throws(StorageError) -> Int {
        switch lookup(path) {
        case .file(let id): return id
        case .directory: throw StorageError(.io, "is a directory", path: path, errno: 21)
        case nil: throw StorageError(.notFound, "no such file", path: path, errno: 2)
        }
    }

    func parentDirectory(of path: String) throws(StorageError) -> String {
        let (parent, _) = Self.split(path)
        guard directories[parent] != nil else { throw StorageError(.notFound, "parent directory does not exist", path: path, errno: 2) }
        return parent
    }

    // MARK: - Crash

    /// How much of the unsynced state reaches the disk when it crashes.
    enum CrashOutcome {
        /// Nothing that was not synced.
        case dropUnsynced
        /// Every unsynced write, in order (the OS flushed them just before power went).
        case keepUnsynced
        /// The unsynced writes of one file in order, the last of them torn: only its first half,
        /// in whole sectors of `sectorSize` bytes counted from the start of the file, arrives.
        case tearLastWrite(path: String?, sectorSize: Int)
    }

    /// Throws away everything that was not durable, as a power loss would, keeping what
    /// `outcome` says reached the platter.
    mutating func crash(_ outcome: CrashOutcome) {
        let tornInode: Int? = {
            guard case .tearLastWrite(let path, _) = outcome else { return nil }
            if let path, case .file(let id) = lookup(path) { return id }
            return inodes.filter { !$0.value.unsynced.isEmpty }.keys.max()
        }()
        var survivors: [String: Directory] = [:]
        var reachable: Set<Int> = []
        func keep(_ path: String) {
            guard var directory = directories[path] else { return }
            directory.entries = directory.durable
            survivors[path] = directory
            for (name, node) in directory.durable {
                let child = path == "/" ? "/" + name : path + "/" + name
                switch node {
                case .directory: keep(child)
                case .file(let id): reachable.insert(id)
                }
            }
        }
        keep("/")
        directories = survivors
        inodes = inodes.filter { reachable.contains($0.key) }
        for (id, var inode) in inodes {
            switch outcome {
            case .dropUnsynced: inode.data = inode.durable
            case .keepUnsynced: inode.data = Self.synced(inode)
            case .tearLastWrite(_, let sectorSize):
                inode.data = id == tornInode ? Self.tornContents(inode, sectorSize: sectorSize) : inode.durable
            }
            inode.durable = inode.data
            inode.unsynced = []
            inode.lockHolder = nil
            inodes[id] = inode
        }
    }

    /// The durable contents with the unsynced changes applied: what a sync makes durable. Writes
    /// dropped by a failed sync are no longer among the changes, so they never become durable.
    static func synced(_ inode: Inode) -> [UInt8] {
        var data = inode.durable
        for change in inode.unsynced {
            switch change {
            case .resize(let size): resize(&data, to: size)
            case .write(let offset, let bytes): apply(&data, offset: offset, bytes: bytes[...])
            }
        }
        return data
    }

    static func tornContents(_ inode: Inode, sectorSize: Int) -> [UInt8] {
        var data = inode.durable
        for (position, change) in inode.unsynced.enumerated() {
            switch change {
            case .resize(let size): resize(&data, to: size)
            case .write(let offset, let bytes):
                var kept = bytes[...]
                if position == inode.unsynced.count - 1 {
                    let end = (offset + bytes.count / 2) / sectorSize * sectorSize
                    kept = bytes.prefix(max(0, end - offset))
                }
                apply(&data, offset: offset, bytes: kept)
            }
        }
        return data
    }

    static func resize(_ data: inout [UInt8], to size: Int) {
        if size < data.count { data.removeLast(data.count - size) } else { data += [UInt8](repeating: 0, count: size - data.count) }
    }

    static func apply(_ data: inout [UInt8], offset: Int, bytes: ArraySlice<UInt8>) {
        if data.count < offset + bytes.count { resize(&data, to: offset + bytes.count) }
        data.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    var totalBytes: Int { inodes.values.reduce(0) { $0 + $1.data.count } }
}
