import EtcdStorage
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// The conformance suites' crash runs catch a WAL that never fsyncs its data (etcd's
/// `--unsafe-no-fsync`), which their reopen runs cannot: the data is still in the (simulated)
/// page cache when the store is reopened, and only a power failure loses it.
@Suite("Conformance suites catch a WAL that never syncs")
struct UnsyncedWALDetectionTests {
    typealias Suite = LogStoreConformance<ProtobufWALLog>

    static let suite = Suite(
        makeStore: { try FaultInjectedStores.newLog(unsafeNoSync: true) },
        reopen: { store in try FaultInjectedStores.reopen(store) },
        crash: { store in try FaultInjectedStores.crash(store) })

    /// Only issues from the crash run are expected: the plain and reopen runs must pass.
    static func fromCrashRun(_ issue: Issue) -> Bool {
        issue.comments.contains { $0.rawValue.contains("[crash]") }
    }

    @Test("each durability case fails in the crash run", arguments: suite.cases.filter { $0.name.hasPrefix("durability:") })
    func durabilityCasesFail(_ testCase: Suite.Case) throws {
        try withKnownIssue("a WAL without fsync loses acknowledged writes in a crash", isIntermittent: false) {
            try Self.suite.run(testCase)
        } matching: { issue in Self.fromCrashRun(issue) }
    }
}
