import EtcdStorage
import Logging
import MultiRaftLog
import RaftStorage
import RaftStorageTesting
import Testing

/// Media damage in the snapshot files of `Storage` over a group's view of the multi-group log:
/// recovery returns everything acknowledged, goes back to an older snapshot through the view
/// (`GroupLog.resume(from:)`) once the damaged newest file is set aside, or reports the damage,
/// as it does over a WAL.
@Suite("Storage over GroupLog: damaged snapshot files")
struct EngineSnapshotDamageTests {
    static let quiet = Logger(label: "media-damage", factory: { _ in SwiftLogNoOpLogHandler() })

    // No compaction and no snapshot removed, so recovery can go back to any snapshot.
    static let checker = StorageMediaDamage<InterleavedLog, EtcdSnapshotStore>(
        openLog: { fileSystem in try GroupLogCrashConsistencyTests.open(fileSystem) },
        openSnapshots: { fileSystem in try EtcdSnapshotStore(directory: "/data/snap", fileSystem: fileSystem, logger: quiet) },
        options: .init(retainedEntries: 1_000, retainedSnapshots: 10))

    @Test func damagedSnapshotFiles() throws {
        let (image, acknowledged, files) = try Self.checker.writeSnapshotWorkload { store, marker in store.filePath(of: marker) }
        #expect(files.count == 3)
        let cases = StorageMediaDamage<InterleavedLog, EtcdSnapshotStore>.snapshotCases(files: files, image: image)
        #expect(cases.count == files.count * 3 * 2)
        let report = try Self.checker.checkStorage(cases, image: image, acknowledged: acknowledged)
        print("[media-damage] Storage(GroupLog + etcd .snap), snapshot files: \(report)")
        #expect(report.cases == cases.count)
        #expect(report.losses == 0)
        #expect(report.misreported == 0)
        #expect(report.unchanged == 0)
        #expect(report.recoveredFromOlderSnapshot > 0, "a damaged newest snapshot: recovery goes back to an older one")
        #expect(report.recovered + report.recoveredFromOlderSnapshot + report.errorsReported == report.cases)
    }
}
