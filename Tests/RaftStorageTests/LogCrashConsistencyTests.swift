import RaftStorage
import RaftStorageTesting
import Testing

/// The crash enumerator finds no problem in a log that writes atomically, and finds the
/// problems of one that overwrites its file in place.
@Suite("Crash-point enumeration")
struct LogCrashConsistencyTests {
    static let atomic = LogCrashConsistency(open: { fs in try WholeFileLogStore(fs: fs, directory: "/log", atomic: true) })
    static let inPlace = LogCrashConsistency(open: { fs in try WholeFileLogStore(fs: fs, directory: "/log", atomic: false) })

    @Test(arguments: LogCrashConsistency<WholeFileLogStore>.workloads)
    func anAtomicLogSurvivesEveryCrashPoint(_ workload: LogCrashConsistency<WholeFileLogStore>.Workload) throws {
        let report = try Self.atomic.check(workload)
        #expect(report.operations > 5)
        #expect(report.crashesRecovered == report.operations * LogCrashConsistency<WholeFileLogStore>.defaultOutcomes.count)
    }

    @Test(arguments: LogCrashConsistency<WholeFileLogStore>.workloads)
    func anAtomicLogSurvivesEveryFault(_ workload: LogCrashConsistency<WholeFileLogStore>.Workload) throws {
        let report = try Self.atomic.checkFaults(workload)
        #expect(report.faultsInjected > 5)
    }

    @Test func anInPlaceLogIsCaught() throws {
        let workload = LogCrashConsistency<WholeFileLogStore>.workloads[0]
        let (_, problems) = try Self.inPlace.explore(workload, outcomes: [.dropUnsynced])
        #expect(problems.contains { $0.contains("lost acknowledged entries") || $0.contains("does not open") })
    }
}
