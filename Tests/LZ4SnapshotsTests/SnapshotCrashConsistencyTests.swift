import EtcdWAL
import LZ4Snapshots
import Logging
import RaftStorage
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

    @Test(arguments: workloads)
    func etcdSnapshots(_ workload: SnapshotCrashConsistency<EtcdSnapshotStore>.Workload) throws {
        let report = try Self.etcd.check(workload)
        #expect(report.operations > 5)
        print("[crash-consistency] EtcdSnapshotStore, \(workload.name): \(report.operations) crash points, \(report.crashesRecovered) recoveries")
    }

    @Test(arguments: workloads.map { SnapshotCrashConsistency<LZ4SnapshotStore<ProtobufRecordCodec>>.Workload(name: $0.name, steps: $0.steps) })
    func lz4Snapshots(_ workload: SnapshotCrashConsistency<LZ4SnapshotStore<ProtobufRecordCodec>>.Workload) throws {
        let report = try Self.lz4.check(workload)
        #expect(report.operations > 5)
        print("[crash-consistency] LZ4SnapshotStore, \(workload.name): \(report.operations) crash points, \(report.crashesRecovered) recoveries")
    }

    @Test(arguments: workloads)
    func etcdSnapshotFaults(_ workload: SnapshotCrashConsistency<EtcdSnapshotStore>.Workload) throws {
        let report = try Self.etcd.checkFaults(workload)
        #expect(report.faultsInjected > 0)
        print("[fault-consistency] EtcdSnapshotStore, \(workload.name): \(report.runs) runs, \(report.faultsInjected) faults injected")
    }

    @Test(arguments: workloads.map { SnapshotCrashConsistency<LZ4SnapshotStore<ProtobufRecordCodec>>.Workload(name: $0.name, steps: $0.steps) })
    func lz4SnapshotFaults(_ workload: SnapshotCrashConsistency<LZ4SnapshotStore<ProtobufRecordCodec>>.Workload) throws {
        let report = try Self.lz4.checkFaults(workload)
        #expect(report.faultsInjected > 0)
        print("[fault-consistency] LZ4SnapshotStore, \(workload.name): \(report.runs) runs, \(report.faultsInjected) faults injected")
    }
}
