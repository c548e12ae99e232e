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
        /// When this file was last written (``SimulatedDisk/writeClock``), to find the latest write.
        var lastWrite = 0
        /// The permission bits it was created with.
        var permissions: UInt32 = 0o600
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
        /// The permission bits it was created with.
        var permissions: UInt32 = 0o755
    }

    var inodes: [Int: Inode] = [:]
    var directories: [String: Directory] = ["/": Directory()]
    var nextInode = 1
    /// Counts writes, so a crash can tear the latest one.
    var writeClock = 0

    /// Applies a write to a file's visible contents and remembers it as unsynced.
    mutating func write(_ bytes: [UInt8], at offset: Int, inode id: Int) {
        writeClock += 1
        Self.apply(&inodes[id]!.data, offset: offset, bytes: bytes[...])
        inodes[id]!.unsynced.append(.write(offset: offset, bytes: bytes))
        inodes[id]!.lastWrite = writeClock
    }

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

    func parentDirectory(of path: String) throws(StorageError) -> String {
        let (parent, _) = Self.split(path)
        guard directories[parent] != nil else { throw StorageError(.notFound, "parent directory does not exist", path: path, errno: 2) }
        return parent
    }

    // MARK: - Crash

    /// How much of the unsynced state reaches the disk when it crashes.
    enum CrashOutcome {
        /// Nothing that was not synced: no unsynced data, no unsynced name change.
        case dropUnsynced
        /// Everything, in order: every unsynced write and every name change (the OS flushed
        /// them all just before power went).
        case keepUnsynced
        /// The unsynced changes of one file (`path`, or the file written last) in order up to its
        /// last unsynced write, which is torn: only its first half, in whole sectors of
        /// `sectorSize` bytes counted from the start of the file, arrives. Changes after that
        /// write, every other file's unsynced changes and unsynced names are lost.
        case tearLastWrite(path: String?, sectorSize: Int)
        /// Writes reach the disk out of order: each `sectorSize` piece of every unsynced write
        /// arrives or not, by a coin seeded with `seed`, and each directory keeps all or none of
        /// its unsynced name changes. Resizes always arrive.
        case scramble(seed: UInt64, sectorSize: Int)
    }

    /// Releases every file lock (its holder is gone), changing nothing else.
    mutating func releaseLocks() {
        for id in inodes.keys { inodes[id]?.lockHolder = nil }
    }

    /// Throws away everything that was not durable, as a power loss would, keeping what
    /// `outcome` says reached the platter.
    mutating func crash(_ outcome: CrashOutcome) {
        let tornInode: Int? = {
            guard case .tearLastWrite(let path, _) = outcome else { return nil }
            if let path, case .file(let id) = lookup(path) { return id }
            return inodes.filter { $0.value.unsynced.contains { if case .write = $0 { true } else { false } } }
                .max { $0.value.lastWrite < $1.value.lastWrite }?.key
        }()
        var coin: SeededGenerator? = if case .scramble(let seed, _) = outcome { SeededGenerator(seed: seed) } else { nil }
        var names: [String: [String: Node]] = [:]
        for path in directories.keys.sorted() {
            let directory = directories[path]!
            let keepsNames: Bool = switch outcome {
            case .keepUnsynced: true
            case .dropUnsynced, .tearLastWrite: false
            case .scramble: coin!.next() & 1 == 1
            }
            names[path] = keepsNames ? directory.entries : directory.durable
        }
        var survivors: [String: Directory] = [:]
        var reachable: Set<Int> = []
        func keep(_ path: String) {
            guard var directory = directories[path], let entries = names[path] else { return }
            directory.entries = entries
            directory.durable = entries
            survivors[path] = directory
            for (name, node) in entries {
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
        for id in inodes.keys.sorted() {
            var inode = inodes[id]!
            switch outcome {
            case .dropUnsynced: inode.data = inode.durable
            case .keepUnsynced: inode.data = Self.synced(inode)
            case .tearLastWrite(_, let sectorSize):
                inode.data = id == tornInode ? Self.tornContents(inode, sectorSize: sectorSize) : inode.durable
            case .scramble(_, let sectorSize):
                inode.data = Self.scrambledContents(inode, sectorSize: sectorSize, coin: &coin!)
            }
            inode.durable = inode.data
            inode.unsynced = []
            inode.lockHolder = nil
            inodes[id] = inode
        }
    }

    /// The durable contents with each sector-sized piece of every unsynced write applied or not.
    static func scrambledContents(_ inode: Inode, sectorSize: Int, coin: inout SeededGenerator) -> [UInt8] {
        var data = inode.durable
        for change in inode.unsynced {
            switch change {
            case .resize(let size): resize(&data, to: size)
            case .write(let offset, let bytes):
                var start = offset
                while start < offset + bytes.count {
                    let end = min(offset + bytes.count, (start / sectorSize + 1) * sectorSize)
                    if coin.next() & 1 == 1 {
                        apply(&data, offset: start, bytes: bytes[(start - offset)..<(end - offset)])
                    } else if data.count < end {
                        resize(&data, to: end)  // the size grew; the sector reads as zeros
                    }
                    start = end
                }
            }
        }
        return data
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
        guard let last = inode.unsynced.lastIndex(where: { if case .write = $0 { true } else { false } }) else { return data }
        for change in inode.unsynced[..<last] {
            switch change {
            case .resize(let size): resize(&data, to: size)
            case .write(let offset, let bytes): apply(&data, offset: offset, bytes: bytes[...])
            }
        }
        if case .write(let offset, let bytes) = inode.unsynced[last] {
            let end = (offset + bytes.count / 2) / sectorSize * sectorSize
            apply(&data, offset: offset, bytes: bytes.prefix(max(0, end - offset)))
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
