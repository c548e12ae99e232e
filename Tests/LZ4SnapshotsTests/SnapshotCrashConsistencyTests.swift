import EtcdStorage
import LZ4Snapshots
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// Every crash point of the snapshot workloads, with every crash outcome, for both file
/// snapshot stores: acknowledged saves load, nothing partial ever loads, damaged files are set
/// aside.
@Suite("Snapshot store crash consistency")
struct SnapshotCrashConsistencyTests {
    static let quiet = Logger(label: "crash", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The member directory exists and is durable, as a data directory would be; the stores
    /// create their own directory in it.
    static func dataDirectory(_ fs: FaultInjectingFileSystem) throws {
        try fs.createDirectory("/data", permissions: 0o700)
        try fs.syncDirectory("/")
    }

    static let etcd = SnapshotCrashConsistency(
        open: { fs in
            try dataDirectory(fs)
            return try EtcdSnapshotStore(directory: "/data/snap", fileSystem: fs, logger: quiet)
        },
        filePath: { store, marker in store.filePath(of: marker) })

    static let lz4 = SnapshotCrashConsistency(
        open: { fs in
            try dataDirectory(fs)
            return try LZ4SnapshotStore(directory: "/data/snap", codec: ProtobufRecordCodec(), fileSystem: fs, logger: quiet)
        },
        filePath: { store, marker in store.filePath(of: marker) })

    static let workloads = SnapshotCrashConsistency<EtcdSnapshotStore>.workloads + SnapshotCrashConsistency<EtcdSnapshotStore>.damageWorkloads

    @Test(arguments: [FileStoreKind.etcd, .lz4], workloads)
    func crashes(_ store: FileStoreKind, _ workload: CrashWorkload<SnapshotCrashStep>) throws {
        let report = try store == .etcd ? Self.etcd.check(workload) : Self.lz4.check(workload)
        #expect(report.operations > 5)
        // A snapshot store has no tail to tell from damage: every crash ends in a checked recovery.
        #expect(report.crashesRecovered == report.operations * FaultInjectingFileSystem.CrashOutcome.standard.count)
        #expect(report.crashesRefusedAsDamage == 0)
        print("[crash-consistency] \(store.rawValue), \(workload.name): \(report.operations) crash points, \(report.crashesRecovered) recoveries")
    }

    @Test(arguments: [FileStoreKind.etcd, .lz4], workloads)
    func faults(_ store: FileStoreKind, _ workload: CrashWorkload<SnapshotCrashStep>) throws {
        let report = try store == .etcd ? Self.etcd.checkFaults(workload) : Self.lz4.checkFaults(workload)
        #expect(report.faultsInjected > 0)
        // A fault changes what follows, so a few aimed at late calls never fire; most must.
        #expect(report.faultsInjected * 10 >= report.runs * 8)
        print("[fault-consistency] \(store.rawValue), \(workload.name): \(report.runs) runs, \(report.faultsInjected) faults injected")
    }
}
