import EtcdStorage
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization
import Testing

/// Every crash point of the standard workloads, with every crash outcome (unsynced writes
/// dropped, kept, torn at 512 B and 4 KiB, or scrambled), recovered by reopening the
/// WALLogStore. Segments are 4 KiB so the workloads cut, release and purge segments.
@Suite("WALLogStore crash consistency")
struct WALCrashConsistencyTests {
    typealias Store = WALLogStore<ProtobufRecordCodec>

    static func options(_ fileSystem: FaultInjectingFileSystem) -> Store.Options {
        Store.Options(
            wal: WALOptions(fileSystem: fileSystem, segmentSize: 4096, logger: Logger(label: "crash", factory: { _ in SwiftLogNoOpLogHandler() })),
            retainedSegments: 3)
    }

    static let crashes = LogCrashConsistency(open: { fileSystem in try WALLogStore.open(at: "/data/wal", options: options(fileSystem)) })

    @Test(arguments: LogCrashConsistency<Store>.workloads)
    func crashes(_ workload: LogCrashConsistency<Store>.Workload) throws {
        let report = try Self.crashes.check(workload)
        #expect(report.operations > 10)
        let outcomes = LogCrashConsistency<Store>.defaultOutcomes
        #expect(report.crashesRecovered + report.crashesRefusedAsDamage == report.operations * outcomes.count)
        // Only writes arriving out of order may leave a tail that reads like damage.
        #expect(report.crashesRefusedAsDamage <= report.operations * outcomes.filter(\.reordersWrites).count)
        print("[crash-consistency] WALLogStore, \(workload.name): \(report.operations) crash points, \(report.crashesRecovered) recoveries, \(report.crashesRefusedAsDamage) refused as damage after out-of-order writes")
    }

    /// Every fsync, write and preallocation of every workload failing in turn (fsync losing the
    /// unsynced data, writes and preallocation out of space): the WAL refuses writes, is
    /// reopened, goes on, and loses nothing acknowledged, even in a crash afterwards.
    @Test(arguments: LogCrashConsistency<Store>.workloads)
    func faults(_ workload: LogCrashConsistency<Store>.Workload) throws {
        let report = try Self.crashes.checkFaults(workload)
        #expect(report.faultsInjected > 10)
        // A fault changes what follows, so a few aimed at late calls never fire.
        #expect(report.faultsInjected * 10 >= report.runs * 8)
        print("[fault-consistency] WALLogStore, \(workload.name): \(report.runs) runs, \(report.faultsInjected) faults injected")
    }

    /// The torn-batch workload really makes the WAL repair (so crash points inside the repair are
    /// enumerated), and every recovery opens with at most one repair.
    @Test func tornBatchesAreRepaired() throws {
        let repairs = RepairCounter(), repeated = RepairCounter(), leftTorn = RepairCounter()
        let counting = LogCrashConsistency(open: { fileSystem in
            let store = try WALLogStore.open(at: "/data/wal", options: Self.options(fileSystem))
            let cuts = store.recoveryActions.filter { $0.kind == .tornTailCut }.count
            if cuts > 0 { repairs.add() }
            if cuts > 1 { repeated.add() }
            // A repaired WAL reads to its end: a second open would find nothing to cut.
            if cuts > 0, (try? WAL.read(at: "/data/wal", from: .zero, codec: ProtobufRecordCodec(), options: Self.options(fileSystem).wal))?.error?.code == .unexpectedEnd {
                leftTorn.add()
            }
            return store
        })
        let workload = try #require(LogCrashConsistency<Store>.workloads.first { $0.name.contains("torn") })
        let report = try counting.check(workload, outcomes: [FaultInjectingFileSystem.CrashOutcome.dropUnsynced])
        #expect(repairs.count >= report.crashesRecovered / 2, "runs that reach a torn batch repair it")
        #expect(repeated.count == 0, "no open cuts a torn tail twice")
        #expect(leftTorn.count == 0, "what a repair leaves reads to its end")
    }

    /// The release workload really purges segments: some recoveries open a WAL whose first
    /// segment is gone.
    @Test func compactionReleasesAndPurgesSegments() throws {
        let purged = RepairCounter()
        let watching = LogCrashConsistency(open: { fileSystem in
            let names = (try? fileSystem.contentsOfDirectory("/data/wal")) ?? []
            if names.contains(where: { $0.hasSuffix(".wal") }) && !names.contains("0000000000000000-0000000000000000.wal") { purged.add() }
            return try WALLogStore.open(at: "/data/wal", options: Self.options(fileSystem))
        })
        let workload = try #require(LogCrashConsistency<Store>.workloads.first { $0.name.contains("segment release") })
        // Each purged deletion is durable before the next, so even dropped names show it.
        try watching.check(workload, outcomes: [FaultInjectingFileSystem.CrashOutcome.dropUnsynced])
        #expect(purged.count > 0)
    }
}

final class RepairCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
