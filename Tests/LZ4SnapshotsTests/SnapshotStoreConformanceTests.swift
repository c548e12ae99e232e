import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import RaftStorageTesting
import TestSupport
import Testing

/// The file snapshot stores pass the shared conformance suite: on disk with reopening and with
/// files corrupted, and on a simulated disk through crashes too. (MemorySnapshotStore runs it in
/// MemoryStoreTests.)
@Suite("Snapshot store conformance")
struct SnapshotStoreConformanceTests {
    typealias LZ4Store = LZ4SnapshotStore<ProtobufRecordCodec>
    typealias GatheringStore = LZ4SnapshotStore<NonStreamingCodec>

    // Each suite makes its stores in new directories under `base`, a temporary directory each
    // test removes when it is done; listing the cases needs no directory.

    static func lz4Suite(in base: String) -> SnapshotStoreConformance<LZ4Store> {
        SnapshotStoreConformance(
            makeStore: { try LZ4Store(directory: base + "/" + UUID().uuidString, codec: ProtobufRecordCodec()) },
            reopen: { try LZ4Store(directory: $0.directory, codec: $0.codec) },
            corrupt: { store, marker in try flipMiddleBit(of: store.filePath(of: marker)) })
    }

    static func gatheringSuite(in base: String) -> SnapshotStoreConformance<GatheringStore> {
        SnapshotStoreConformance(
            makeStore: { try GatheringStore(directory: base + "/" + UUID().uuidString, codec: NonStreamingCodec()) },
            reopen: { try GatheringStore(directory: $0.directory, codec: $0.codec) },
            corrupt: { store, marker in try flipMiddleBit(of: store.filePath(of: marker)) })
    }

    static func etcdSuite(in base: String) -> SnapshotStoreConformance<EtcdSnapshotStore> {
        SnapshotStoreConformance(
            makeStore: { try EtcdSnapshotStore(directory: base + "/" + UUID().uuidString) },
            reopen: { try EtcdSnapshotStore(directory: $0.directory) },
            corrupt: { store, marker in try flipMiddleBit(of: store.filePath(of: marker)) })
    }

    /// Each file store on a simulated disk: restarts, crashes at the same points, damaged files.
    static func crashSuite(_ kind: FileStoreKind) -> SnapshotStoreConformance<SimulatedSnapshots> {
        SnapshotStoreConformance(
            makeStore: { try SimulatedSnapshots.onNewDisk(kind) },
            reopen: { try $0.reopened() },
            crash: { try $0.crashed() },
            corrupt: { store, marker in try store.corrupt(marker) })
    }

    @Test(arguments: lz4Suite(in: "").cases)
    func lz4(_ testCase: SnapshotStoreConformance<LZ4Store>.Case) throws {
        try withTemporaryDirectory("conformance") { base in try Self.lz4Suite(in: base.path).run(testCase) }
    }

    @Test(arguments: gatheringSuite(in: "").cases)
    func lz4WithNonStreamingCodec(_ testCase: SnapshotStoreConformance<GatheringStore>.Case) throws {
        try withTemporaryDirectory("conformance") { base in try Self.gatheringSuite(in: base.path).run(testCase) }
    }

    @Test(arguments: etcdSuite(in: "").cases)
    func etcd(_ testCase: SnapshotStoreConformance<EtcdSnapshotStore>.Case) throws {
        try withTemporaryDirectory("conformance") { base in try Self.etcdSuite(in: base.path).run(testCase) }
    }

    @Test(arguments: FileStoreKind.allCases, crashSuite(.etcd).cases)
    func throughCrashes(_ kind: FileStoreKind, _ testCase: SnapshotStoreConformance<SimulatedSnapshots>.Case) throws {
        let suite = Self.crashSuite(kind)
        #expect(suite.durabilityChecked)
        try suite.run(testCase)
    }
}

/// A file snapshot store on a `FaultInjectingFileSystem`, with the simulated disk it is on, so
/// the suite's crash hook can cut the power and its `corrupt` hook can damage a file (the stores
/// do not expose their file system).
struct SimulatedSnapshots: SnapshotStore {
    static let directory = "/data/snap"

    let kind: FileStoreKind
    let fileSystem: FaultInjectingFileSystem
    let base: any SnapshotStore

    /// Opens the store of `kind` in ``directory`` on `fileSystem`.
    init(_ kind: FileStoreKind, on fileSystem: FaultInjectingFileSystem) throws {
        self.kind = kind
        self.fileSystem = fileSystem
        self.base = try kind.open(Self.directory, fileSystem: fileSystem)
    }

    /// A new, empty store on a new simulated disk whose data directory exists durably, as a
    /// member directory would.
    static func onNewDisk(_ kind: FileStoreKind) throws -> SimulatedSnapshots {
        let fileSystem = FaultInjectingFileSystem()
        try fileSystem.createDirectory("/data", permissions: 0o700)
        try fileSystem.syncDirectory("/")
        return try SimulatedSnapshots(kind, on: fileSystem)
    }

    func save(_ snapshot: Snapshot) throws(StorageError) { try base.save(snapshot) }
    func list() throws(StorageError) -> [SnapshotMarker] { try base.list() }
    func loadNewest(matching markers: [SnapshotMarker]) throws(StorageError) -> Snapshot? { try base.loadNewest(matching: markers) }
    func loadNewest() throws(StorageError) -> Snapshot? { try base.loadNewest() }
    @discardableResult
    func retainNewest(_ count: Int) throws(StorageError) -> [SnapshotMarker] { try base.retainNewest(count) }

    /// The store opened again on the same disk.
    func reopened() throws -> SimulatedSnapshots {
        try SimulatedSnapshots(kind, on: fileSystem)
    }

    /// A power failure: what was not synced is lost, and the store is opened again on what is left.
    func crashed() throws -> SimulatedSnapshots {
        fileSystem.crash(.dropUnsynced)
        return try reopened()
    }

    /// Flips one bit in the middle of the file of the snapshot at `marker`, durably, as a bad
    /// sector would.
    func corrupt(_ marker: SnapshotMarker) throws {
        let path = Self.directory + "/" + kind.fileName(marker)
        guard var bytes = fileSystem.contents(of: path), !bytes.isEmpty else {
            throw StorageError(.notFound, "no snapshot file \(path) to damage")
        }
        bytes[bytes.count / 2] ^= 0x10
        fileSystem.setContents(of: path, to: bytes)
    }
}
