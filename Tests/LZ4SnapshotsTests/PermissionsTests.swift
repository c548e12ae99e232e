import EtcdStorage
import Foundation
import LZ4Snapshots
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import TestSupport
import Synchronization
import Testing

/// Files are created 0600 and directories 0700, as etcd does: on the real file system (where
/// the process umask can only take bits away) and, with every file the stores ever create, on
/// the simulated one.
@Suite("File and directory permissions")
struct PermissionsTests {
    static let quiet = Logger(label: "permissions", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Every file and directory under `root`, with its permission bits.
    static func modes(under root: String) throws -> [(path: String, isDirectory: Bool, mode: Int)] {
        var found: [(String, Bool, Int)] = []
        let manager = FileManager.default
        for name in try manager.subpathsOfDirectory(atPath: root) {
            let path = root + "/" + name
            let attributes = try manager.attributesOfItem(atPath: path)
            let isDirectory = attributes[.type] as? FileAttributeType == .typeDirectory
            found.append((path, isDirectory, (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1))
        }
        return found
    }

    @Test("the WAL, its repair backup, and both snapshot stores create 0600 files in 0700 directories")
    func realFileSystem() throws {
        try withTemporaryDirectory("permissions") { directory in
            let member = directory.file("data/member")
            let walOptions = WALLogStore<ProtobufRecordCodec>.Options(wal: WALOptions(segmentSize: 8192, logger: Self.quiet), retainedSegments: nil)
            let log = try WALLogStore.open(at: member + "/wal", options: walOptions)
            for index in UInt64(1)...60 {
                try log.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: [Entry(term: 1, index: index, data: [UInt8](repeating: 1, count: 400))])
            }
            try log.close()
            // A torn tail, so opening repairs it and writes a .broken copy.
            let segments = try FileManager.default.contentsOfDirectory(atPath: member + "/wal").filter { $0.hasSuffix(".wal") }.sorted()
            let tail = member + "/wal/" + segments.last!
            let bytes = try Data(contentsOf: URL(fileURLWithPath: tail))
            let end = (bytes.lastIndex { $0 != 0 } ?? 200) + 1
            try bytes.prefix(end - 100).write(to: URL(fileURLWithPath: tail))
            let repaired = try WALLogStore.open(at: member + "/wal", options: walOptions)
            #expect(repaired.repair != nil)
            try repaired.close()

            let snapshot = Snapshot(data: [1, 2, 3], metadata: SnapshotMetadata(index: 5, term: 1))
            try EtcdSnapshotStore(directory: member + "/snap", logger: Self.quiet).save(snapshot)
            try LZ4SnapshotStore(directory: member + "/lz4", codec: ProtobufRecordCodec(), logger: Self.quiet).save(snapshot)

            let modes = try Self.modes(under: directory.file("data"))
            #expect(modes.contains { $0.path.hasSuffix(".wal.broken") })
            #expect(modes.contains { $0.path.hasSuffix(".snap") } && modes.contains { $0.path.hasSuffix(".snap.lz4") })
            for entry in modes {
                #expect(entry.mode == (entry.isDirectory ? 0o700 : 0o600), "\(entry.path) is \(String(entry.mode, radix: 8))")
            }
        }
    }

    @Test("every file the stores create in a crash-consistency workload asks for 0600, every directory 0700")
    func simulatedFileSystem() throws {
        let fs = FaultInjectingFileSystem()
        try fs.createDirectory("/member", permissions: 0o700)
        let log = try WALLogStore.open(at: "/member/wal", options: .init(wal: WALOptions(fileSystem: fs, segmentSize: 4096, logger: Self.quiet)))
        let storage = try Storage(log: log, snapshots: EtcdSnapshotStore(directory: "/member/snap", fileSystem: fs, logger: Self.quiet), options: .init(retainedEntries: 2))
        for index in UInt64(1)...40 {
            try storage.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: [Entry(term: 1, index: index, data: [UInt8](repeating: 2, count: 300))])
        }
        try storage.createSnapshot(at: 30, data: [9, 9])
        _ = try LZ4SnapshotStore(directory: "/member/lz4", codec: ProtobufRecordCodec(), fileSystem: fs, logger: Self.quiet)
            .save(Snapshot(data: [1], metadata: SnapshotMetadata(index: 3, term: 1)))
        try storage.close()
        let files = fs.files(under: "/member")
        #expect(files.count > 3)
        for file in files { #expect(fs.permissions(of: file) == 0o600, "\(file)") }
        for directory in ["/member/wal", "/member/snap", "/member/lz4"] { #expect(fs.permissions(of: directory) == 0o700, "\(directory)") }
    }

    @Test("opening a snapshot store makes the names in its directory durable", arguments: [true, false])
    func openingSyncsTheDirectory(lz4: Bool) throws {
        let synced = Mutex(0)
        let fileSystem = SyncHookFileSystem(base: FaultInjectingFileSystem()) { kind, path, perform throws(StorageError) in
            if kind == .directory && path == "/snap" { synced.withLock { $0 += 1 } }
            try perform()
        }
        func open() throws {
            if lz4 {
                _ = try LZ4SnapshotStore(directory: "/snap", codec: ProtobufRecordCodec(), fileSystem: fileSystem, logger: Self.quiet)
            } else {
                _ = try EtcdSnapshotStore(directory: "/snap", fileSystem: fileSystem, logger: Self.quiet)
            }
        }
        try open()
        synced.withLock { $0 = 0 }
        // A process killed between a snapshot's rename and the directory's fsync leaves a name
        // the next open finds but a power failure would take away.
        try open()
        #expect(synced.withLock { $0 } >= 1)
    }
}
