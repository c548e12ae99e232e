import RaftStorage
import RaftStorageTesting
import Testing

/// The snapshot crash checker finds no problem in a store that saves atomically and verifies
/// what it loads, and finds the problems of one that writes in place or trusts its files.
@Suite("Snapshot crash-point enumeration")
struct SnapshotCrashCheckerTests {
    typealias Checker = SnapshotCrashConsistency<NaiveSnapshotStore>

    static func checker(atomic: Bool, verifies: Bool = true) -> Checker {
        Checker(
            open: { fs in
                try fs.createDirectory("/data", permissions: 0o700)
                try fs.syncDirectory("/")
                return try NaiveSnapshotStore(fs: fs, directory: "/data/snap", atomic: atomic, verifies: verifies)
            },
            filePath: { store, marker in store.path(marker) })
    }

    @Test(arguments: Checker.workloads + Checker.damageWorkloads)
    func anAtomicVerifyingStoreSurvivesEveryCrashPoint(_ workload: Checker.Workload) throws {
        let report = try Self.checker(atomic: true).check(workload)
        #expect(report.crashesRecovered == report.operations * FaultInjectingFileSystem.CrashOutcome.standard.count)
        try Self.checker(atomic: true).checkFaults(workload)
    }

    @Test func anInPlaceStoreIsCaught() throws {
        let (_, problems) = try Self.checker(atomic: false).explore(Checker.workloads[0])
        #expect(problems.contains { $0.contains("is gone") || $0.contains("does not load") || $0.contains("never saved") })
    }

    @Test func aStoreThatTrustsItsFilesIsCaught() throws {
        let (_, problems) = try Self.checker(atomic: true, verifies: false).explore(Checker.damageWorkloads[0], outcomes: [.dropUnsynced])
        #expect(problems.contains { $0.contains("never saved") })
    }

    @Test func damageWorkloadsNeedFilePaths() throws {
        let blind = Checker(open: { fs in try NaiveSnapshotStore(fs: fs, directory: "/snap", atomic: true) })
        #expect(throws: CrashConsistencyFailure.self) { try blind.explore(Checker.damageWorkloads[0]) }
    }
}
