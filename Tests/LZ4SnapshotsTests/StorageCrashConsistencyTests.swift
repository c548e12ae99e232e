import EtcdStorage
import LZ4Snapshots
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// Every crash point of the Storage workloads, with every crash outcome, for the WAL composed
/// with each file snapshot store: recovery opens, the HardState never goes backwards, every
/// acknowledged entry and snapshot is there.
@Suite("Storage crash consistency")
struct StorageCrashConsistencyTests {
    typealias WALStore = WALLogStore<ProtobufRecordCodec>
    static let quiet = Logger(label: "crash", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A member directory with the WAL (4 KiB segments, so cuts and purges happen) and the
    /// snapshots; few entries and snapshots retained, so compaction and retention happen.
    static func log(_ fs: FaultInjectingFileSystem) throws -> WALStore {
        try fs.createDirectory("/member", permissions: 0o700)
        try fs.syncDirectory("/")
        return try WALLogStore.open(at: "/member/wal", options: .init(wal: WALOptions(fileSystem: fs, segmentSize: 4096, logger: quiet), retainedSegments: 2))
    }

    static let options = Storage<WALStore, EtcdSnapshotStore>.Options(retainedEntries: 2, retainedSnapshots: 2)

    static let etcd = StorageCrashConsistency(open: { fs in
        try Storage(log: log(fs), snapshots: EtcdSnapshotStore(directory: "/member/snap", fileSystem: fs, logger: quiet), options: options)
    })

    static let lz4 = StorageCrashConsistency(open: { fs in
        try Storage(
            log: log(fs), snapshots: LZ4SnapshotStore(directory: "/member/snap", codec: ProtobufRecordCodec(), fileSystem: fs, logger: quiet),
            options: .init(retainedEntries: 2, retainedSnapshots: 2))
    })

    static let workloads = StorageCrashConsistency<WALStore, EtcdSnapshotStore>.workloads

    @Test(arguments: [FileStoreKind.etcd, .lz4], workloads)
    func crashes(_ snapshots: FileStoreKind, _ workload: CrashWorkload<StorageCrashStep>) throws {
        let report = try snapshots == .etcd ? Self.etcd.check(workload) : Self.lz4.check(workload)
        #expect(report.operations > 20)
        let outcomes = FaultInjectingFileSystem.CrashOutcome.standard
        #expect(report.crashesRecovered + report.crashesRefusedAsDamage == report.operations * outcomes.count)
        // Only writes arriving out of order may leave a WAL tail that reads like damage.
        #expect(report.crashesRefusedAsDamage <= report.operations * outcomes.filter(\.reordersWrites).count)
        print("[crash-consistency] Storage(WAL + \(snapshots.rawValue)), \(workload.name): \(report.operations) crash points, \(report.crashesRecovered) recoveries, \(report.crashesRefusedAsDamage) refused as damage after out-of-order writes")
    }

    @Test(arguments: [FileStoreKind.etcd, .lz4], workloads)
    func faults(_ snapshots: FileStoreKind, _ workload: CrashWorkload<StorageCrashStep>) throws {
        let report = try snapshots == .etcd ? Self.etcd.checkFaults(workload) : Self.lz4.checkFaults(workload)
        #expect(report.faultsInjected > 10)
        #expect(report.faultsInjected * 10 >= report.runs * 8)
        print("[fault-consistency] Storage(WAL + \(snapshots.rawValue)), \(workload.name): \(report.runs) runs, \(report.faultsInjected) faults injected")
    }

    /// Regression (found by the enumeration): a crash after a leader's snapshot was saved and its
    /// marker recorded, but before the HardState committing it, left Storage claiming no
    /// snapshot over a log that starts at the installed one.
    @Test("recovery uses a leader's snapshot whose committing HardState a crash lost, and commits it")
    func installedSnapshotWithoutItsHardState() throws {
        let fs = FaultInjectingFileSystem()
        let storage = try Self.etcd.open(fs)
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: (1...5).map { Entry(term: 1, index: $0, data: [1]) })
        let installed = Snapshot(data: [7, 7, 7], metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 30, term: 2))
        try storage.snapshots.save(installed)
        try storage.log.applySnapshot(installed.metadata)
        fs.crash(.dropUnsynced)  // before the Ready's HardState (term 2, commit 30) was written

        let recovered = try Self.etcd.open(fs)
        #expect(recovered.snapshotMetadata == installed.metadata)
        #expect(try recovered.snapshot() == installed)
        #expect(try recovered.firstIndex() == 31)
        #expect(try recovered.initialState().hardState == HardState(term: 2, vote: 0, commit: 30))
        #expect(recovered.recovery.snapshot.matches(installed.metadata.marker))
        try recovered.save(hardState: HardState(term: 2, vote: 0, commit: 31), entries: [Entry(term: 2, index: 31)])
        try recovered.close()
        fs.crash(.dropUnsynced)
        let again = try Self.etcd.open(fs)
        #expect(try again.lastIndex() == 31)
        #expect(try again.initialState().hardState.commit == 31)
        try again.close()
    }
}
