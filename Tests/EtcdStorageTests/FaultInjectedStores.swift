import EtcdStorage
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting

/// The WAL and etcd's snapshot files on a `FaultInjectingFileSystem`, for the conformance
/// suites' crash runs: each new store gets a new simulated disk, and a crash drops what was not
/// synced and opens the stores again on what is left.
enum FaultInjectedStores {
    static let quiet = Logger(label: "conformance", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The conformance options (small segments, so cuts, releases and purges happen) on `fileSystem`.
    static func logOptions(_ fileSystem: FaultInjectingFileSystem, unsafeNoSync: Bool = false) -> ProtobufWALLog.Options {
        ProtobufWALLog.Options(
            wal: WALOptions(fileSystem: fileSystem, segmentSize: 16 * 1024, unsafeNoSync: unsafeNoSync, logger: quiet),
            metadata: Array("conformance".utf8), retainedSegments: 2)
    }

    /// A new WAL on a new simulated disk; with `unsafeNoSync` it never fsyncs its data.
    static func newLog(on fileSystem: FaultInjectingFileSystem = FaultInjectingFileSystem(), unsafeNoSync: Bool = false) throws -> ProtobufWALLog {
        try ProtobufWALLog(directory: "/data/wal", codec: ProtobufRecordCodec(), options: logOptions(fileSystem, unsafeNoSync: unsafeNoSync))
    }

    /// Opens `log`'s WAL again on the same simulated disk.
    static func reopen(_ log: ProtobufWALLog) throws -> ProtobufWALLog {
        try ProtobufWALLog(directory: log.directory, codec: log.codec, options: log.options)
    }

    /// The simulated disk `log` is on.
    static func fileSystem(of log: ProtobufWALLog) throws -> FaultInjectingFileSystem {
        guard let fileSystem = log.options.wal.fileSystem as? FaultInjectingFileSystem else {
            throw StorageError(.invalidArgument, "the log is not on a fault-injecting file system")
        }
        return fileSystem
    }

    /// A power failure: everything not synced is lost, and the log is opened again without
    /// being closed.
    static func crash(_ log: ProtobufWALLog) throws -> ProtobufWALLog {
        try fileSystem(of: log).crash(.dropUnsynced)
        return try reopen(log)
    }
}

/// An `EtcdSnapshotStore` with the simulated disk it is on, so a crash and damage can reach its
/// files (the store does not expose its file system).
struct SimulatedEtcdSnapshots: SnapshotStore {
    let base: EtcdSnapshotStore
    let fileSystem: FaultInjectingFileSystem

    init(on fileSystem: FaultInjectingFileSystem, directory: String = "/data/snap") throws {
        self.base = try EtcdSnapshotStore(directory: directory, fileSystem: fileSystem, logger: FaultInjectedStores.quiet)
        self.fileSystem = fileSystem
    }

    func save(_ snapshot: Snapshot) throws(StorageError) { try base.save(snapshot) }
    func list() throws(StorageError) -> [SnapshotMarker] { try base.list() }
    func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot? { try base.loadNewest(matching: markers) }
    func loadNewest() throws(StorageError) -> Snapshot? { try base.loadNewest() }
    @discardableResult
    func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] { try base.retainNewest(count) }

    /// The store opened again on the same disk.
    func reopened() throws -> SimulatedEtcdSnapshots {
        try SimulatedEtcdSnapshots(on: fileSystem, directory: base.directory)
    }

    /// Flips 64 bytes from the middle of the newest snapshot file on, durably, as a bad sector
    /// would.
    func damageNewest() throws {
        guard let newest = try list().first, var bytes = fileSystem.contents(of: base.filePath(of: newest)) else {
            throw StorageError(.notFound, "no snapshot file to damage")
        }
        let middle = bytes.count / 2
        for offset in middle..<min(bytes.count, middle + 64) { bytes[offset] ^= 0xA5 }
        fileSystem.setContents(of: base.filePath(of: newest), to: bytes)
    }
}
