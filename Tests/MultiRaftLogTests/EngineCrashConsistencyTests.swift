import EtcdStorage
import Logging
import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Synchronization
import Testing

/// The crash enumeration on a group's view: every crash point of the standard workloads, with
/// every crash outcome (unsynced writes dropped, kept, torn at 512 B and 4 KiB, scrambled),
/// recovered by opening the engine again. A neighbour group writes before every write of the
/// group under test and never compacts, so its records interleave with the group's, files
/// rotate (2 KiB), and the purge after each compaction rewrites the neighbour and removes
/// files - all of it among the crash points.
@Suite("GroupLog crash consistency")
struct GroupLogCrashConsistencyTests {
    static let fileSize: Int64 = 2048

    static func open(_ fileSystem: FaultInjectingFileSystem) throws -> InterleavedLog {
        let engine = try LogEngine(directory: EngineFixtures.directory, options: EngineFixtures.options(fileSystem, fileSize: fileSize))
        return InterleavedLog(engine.log(for: EngineFixtures.group), ownsEngine: true, purgeBudget: 1 << 20)
    }

    static let crashes = LogCrashConsistency(open: { fileSystem in try open(fileSystem) })

    @Test(arguments: LogCrashConsistency<InterleavedLog>.workloads)
    func crashes(_ workload: LogCrashConsistency<InterleavedLog>.Workload) throws {
        let report = try Self.crashes.check(workload)
        #expect(report.operations > 10)
        let outcomes = LogCrashConsistency<InterleavedLog>.defaultOutcomes
        #expect(report.crashesRecovered + report.crashesRefusedAsDamage == report.operations * outcomes.count)
        // Only writes arriving out of order may leave a tail that reads like damage.
        #expect(report.crashesRefusedAsDamage <= report.operations * outcomes.filter(\.reordersWrites).count)
        print("[crash-consistency] GroupLog, \(workload.name): \(report.operations) crash points, \(report.crashesRecovered) recoveries, \(report.crashesRefusedAsDamage) refused as damage after out-of-order writes")
    }

    /// Every fsync, write and preallocation failing in turn: the engine refuses writes, is
    /// reopened, goes on, and loses nothing acknowledged, even in a crash afterwards.
    @Test(arguments: LogCrashConsistency<InterleavedLog>.workloads)
    func faults(_ workload: LogCrashConsistency<InterleavedLog>.Workload) throws {
        let report = try Self.crashes.checkFaults(workload)
        #expect(report.faultsInjected > 10)
        // A fault changes what follows, so a few aimed at late calls never fire.
        #expect(report.faultsInjected * 10 >= report.runs * 8)
        print("[fault-consistency] GroupLog, \(workload.name): \(report.runs) runs, \(report.faultsInjected) faults injected")
    }

    /// The compaction workload really purges: some recoveries open an engine whose first file
    /// is gone.
    @Test func compactionPurgesFiles() throws {
        let purged = Counter()
        let watching = LogCrashConsistency(open: { fileSystem in
            let names = (try? fileSystem.contentsOfDirectory(EngineFixtures.directory)) ?? []
            if names.contains(where: { $0.hasSuffix(".rlog") }) && !names.contains("0000000000000001.rlog") { purged.add() }
            return try GroupLogCrashConsistencyTests.open(fileSystem)
        })
        let workload = try #require(LogCrashConsistency<InterleavedLog>.workloads.first { $0.name.contains("compaction") })
        try watching.check(workload, outcomes: [FaultInjectingFileSystem.CrashOutcome.dropUnsynced])
        #expect(purged.count > 0)
    }
}

/// The Storage workloads (Ready handling, snapshots, compaction behind them) over a group's view
/// and a file snapshot store on the same simulated disk, at every crash point.
@Suite("Storage over GroupLog crash consistency")
struct GroupLogStorageCrashConsistencyTests {
    static let quiet = Logger(label: "crash", factory: { _ in SwiftLogNoOpLogHandler() })

    static let crashes = StorageCrashConsistency(open: { fileSystem in
        let log = try GroupLogCrashConsistencyTests.open(fileSystem)
        let snapshots = try EtcdSnapshotStore(directory: "/data/snap", fileSystem: fileSystem, logger: quiet)
        return try Storage(log: log, snapshots: snapshots, options: .init(retainedEntries: 2, retainedSnapshots: 2))
    })

    @Test(arguments: StorageCrashConsistency<InterleavedLog, EtcdSnapshotStore>.workloads)
    func crashes(_ workload: CrashWorkload<StorageCrashStep>) throws {
        let report = try Self.crashes.check(workload)
        #expect(report.operations > 20)
        let outcomes = FaultInjectingFileSystem.CrashOutcome.standard
        #expect(report.crashesRecovered + report.crashesRefusedAsDamage == report.operations * outcomes.count)
        #expect(report.crashesRefusedAsDamage <= report.operations * outcomes.filter(\.reordersWrites).count)
        print("[crash-consistency] Storage(GroupLog + etcd snap), \(workload.name): \(report.operations) crash points, \(report.crashesRecovered) recoveries, \(report.crashesRefusedAsDamage) refused as damage after out-of-order writes")
    }
}

/// Counts from `@Sendable` closures.
final class Counter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}
