public import RaftStorage
import RaftFiles

/// What an engine directory holds and what opening it would do, read without changing a byte
/// (``LogEngine/inspect(directory:fileSystem:)``): the log files, every group as opening would
/// rebuild it, the torn tail opening would cut, or the damage that stops it from opening.
///
/// Its groups' entries are read back from the files on demand (``entries(of:in:maxBytes:)``),
/// checked as an open engine checks them; the inspection itself holds where they are, never
/// their data.
public struct EngineInspection: Sendable {
    /// One log file.
    public struct LogFile: Sendable, Hashable {
        /// The number its name carries.
        public var number: UInt64
        /// Its path.
        public var path: String
        /// Its size in bytes, as found.
        public var size: Int64
    }

    /// One group as opening would rebuild it.
    public struct Group: Sendable, Hashable {
        /// The group's ID.
        public var id: UInt64
        /// The first index its log can return (its boundary's plus one).
        public var firstIndex: UInt64
        /// Its last index, or the boundary's when it holds no entry.
        public var lastIndex: UInt64
        /// The index and term its log starts after: a snapshot installed or a compaction.
        public var boundary: SnapshotMarker
        /// Its last HardState.
        public var hardState: HardState
        /// Its newest snapshot marker (or the one it resumed from).
        public var snapshotMarker: SnapshotMarker
        /// Every marker recorded at or after the boundary, oldest first, committed or not.
        public var recordedMarkers: [SnapshotMarker]
        /// How many entries it holds.
        public var entryCount: UInt64
        /// The bytes its in-memory index takes for them (``LogEngine/indexStatistics(for:)``).
        public var indexBytes: Int
        /// The oldest log file it needs: where its history starts, or an entry's bytes are.
        public var oldestFileNeeded: UInt64
    }

    /// A change opening makes without reporting it: nothing written is lost by it.
    public struct Housekeeping: Sendable, Hashable, CustomStringConvertible {
        /// What opening does.
        public enum Kind: String, Sendable, Hashable {
            /// A log file whose creation a crash interrupted (`.rlog.tmp`) is removed.
            case temporaryFileRemoved
            /// Zeros after the last record of the last file (a write that never arrived) are cut.
            case zerosCut
            /// The directory holds no log file: the first one is created.
            case firstFileCreated
            /// An engine's write or fsync failed in this boot (the note at `path`): the last
            /// log file is written again and synced, so nothing only the page cache holds is
            /// built on.
            case lastFileWrittenAgain
        }

        /// What opening does.
        public var kind: Kind
        /// The file it concerns.
        public var path: String
        /// For ``Kind/zerosCut``: where the cut goes.
        public var offset: Int64?
        /// For ``Kind/zerosCut``: how many bytes it removes.
        public var bytes: Int64?

        /// One line saying what opening does.
        public var description: String {
            switch kind {
            case .temporaryFileRemoved: "removes \(path), a log file whose creation was interrupted"
            case .zerosCut: "cuts \(bytes ?? 0) zero bytes after the last record of \(path) at offset \(offset ?? 0) (a write that never arrived)"
            case .firstFileCreated: "creates the first log file, \(path)"
            case .lastFileWrittenAgain: "writes the last log file again and syncs it, after a failed write or fsync (\(path))"
            }
        }
    }

    /// The directory inspected.
    public let directory: String
    /// Whether the directory holds the `LOCK` file every engine that opened it created.
    public let hasLockFile: Bool
    /// The log files, by number.
    public let files: [LogFile]
    /// What opening would report in ``LogEngine/recoveryActions`` (a torn tail it cuts), with
    /// the offsets and sizes of the cut. Nothing was cut.
    public let recoveryActions: [RecoveryAction]
    /// What opening would change without a report.
    public let housekeeping: [Housekeeping]
    /// Why opening would fail: damage (`corrupt`, `crcMismatch`), a group its records cannot
    /// rebuild, or a file this code does not read (`unsupported`), naming the file and offset.
    /// ``groups`` is empty then.
    public let damage: StorageError?
    /// Every group that holds anything, by ID.
    public let groups: [Group]

    /// The file system the files are read through, and the groups as recovery rebuilt them.
    let fileSystem: any FileSystem
    let states: GroupTable

    init(
        directory: String, hasLockFile: Bool, files: [LogFile], recovered: RecoveredEngine?, housekeeping: [Housekeeping],
        damage: StorageError?, fileSystem: any FileSystem
    ) {
        self.directory = directory
        self.hasLockFile = hasLockFile
        self.files = files
        self.recoveryActions = recovered?.actions ?? []
        self.housekeeping = housekeeping
        self.damage = damage
        self.fileSystem = fileSystem
        let states = recovered?.groups ?? GroupTable()
        self.states = states
        self.groups = states.all.sorted { $0.id < $1.id }.map { Self.summary(of: $0.state, id: $0.id) }
    }

    /// Whether opening would find nothing to report: no damage, no torn tail.
    public var isClean: Bool { damage == nil && recoveryActions.isEmpty }

    /// The entries of `group` in `range`, read back from the files and checked (each entry's
    /// checksum over its group and index, its term against the index), cut to `maxBytes`
    /// (never fewer than one), as ``GroupLog/entries(in:maxBytes:)`` of an open engine.
    ///
    /// - Throws: as ``GroupLog/entries(in:maxBytes:)``: `compacted` and `unavailable` for a
    ///   range the group does not hold (a group never written holds none); `crcMismatch` or
    ///   `corrupt` naming the file and offset of a damaged entry.
    public func entries(of group: UInt64, in range: Range<UInt64>, maxBytes: UInt64 = .max) throws(StorageError) -> [Entry] {
        let state = states[group] ?? GroupState(historyStart: 0)
        var reader = EngineState(fileSystem: fileSystem, directory: directory, groups: GroupTable())
        defer { for number in Array(reader.readers.keys) { reader.dropReader(number) } }
        return try state.window.entries(in: range, maxBytes: maxBytes) { (slots, range, page) throws(StorageError) in
            try reader.readEntries(of: group, slots, range, into: &page)
        }
    }

    private static func summary(of state: GroupState, id: UInt64) -> Group {
        let window = state.window
        return Group(
            id: id, firstIndex: window.firstIndex, lastIndex: window.lastIndex,
            boundary: SnapshotMarker(index: window.boundaryIndex, term: window.boundaryTerm), hardState: state.hardState,
            snapshotMarker: state.marker, recordedMarkers: state.markers, entryCount: window.slots.count,
            indexBytes: window.slots.memoryBytes, oldestFileNeeded: state.oldestFileNeeded)
    }
}
