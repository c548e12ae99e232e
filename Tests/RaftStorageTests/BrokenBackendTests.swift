import MemoryStore
import RaftStorage
import RaftStorageTesting
import Testing

/// A mutation check of the conformance suites: every ``BrokenLogStore/Bug`` breaks one rule of
/// `LogStore`'s requirements, and `LogStoreConformance` (and `StorageConformance`, where the bug
/// shows through `Storage`) must record at least one issue for it. The same wrapper without a
/// bug must pass both suites, so what the suites catch is the bug and nothing else.
@Suite("The conformance suites catch broken log stores")
struct BrokenBackendTests {
    typealias Bug = BrokenLogStore.Bug
    typealias LogSuite = LogStoreConformance<BrokenLogStore>
    typealias StorageSuite = StorageConformance<BrokenLogStore, MemorySnapshotStore>

    /// Every run of the log suite: plain, with restarts (the suite closes the store first), and
    /// with crashes (the store abandoned open).
    static func logSuite(_ bug: Bug?) -> LogSuite {
        LogSuite(
            makeStore: { BrokenLogStore(bug: bug) },
            reopen: { store in store.openedAgain() },
            crash: { store in store.openedAgain() })
    }

    /// Every run of the storage suite: plain, with restarts (the suite closes the storage
    /// first) and with crashes; memory snapshots stand in for durable ones.
    static func storageSuite(_ bug: Bug?) -> StorageSuite {
        StorageSuite(
            makeStore: { (BrokenLogStore(bug: bug), MemorySnapshotStore()) },
            reopen: { log, snapshots in (log.openedAgain(), snapshots) },
            crash: { log, snapshots in (log.openedAgain(), snapshots) })
    }

    /// The issues that count for `bug`: for a bug only a crash shows, issues from the crash
    /// runs only (the plain and reopen runs must pass); otherwise any.
    static func counts(_ issue: Issue, for bug: Bug) -> Bool {
        !bug.onlyACrashShowsIt || issue.comments.contains { $0.rawValue.contains("[crash]") }
    }

    @Test("without a bug the wrapper passes both suites, durability checked")
    func controlPasses() throws {
        #expect(Self.logSuite(nil).durabilityChecked)
        #expect(Self.storageSuite(nil).durabilityChecked)
        try Self.logSuite(nil).run()
        try Self.storageSuite(nil).run()
    }

    @Test("LogStoreConformance fails every broken log", arguments: Bug.allCases)
    func logSuiteCatches(_ bug: Bug) throws {
        try withKnownIssue("the log store is broken: \(bug.rawValue)", isIntermittent: false) {
            try Self.logSuite(bug).run()
        } matching: { issue in Self.counts(issue, for: bug) }
    }

    @Test("StorageConformance fails every broken log that shows through Storage", arguments: Bug.allCases.filter(\.showsThroughStorage))
    func storageSuiteCatches(_ bug: Bug) throws {
        try withKnownIssue("the log store is broken: \(bug.rawValue)", isIntermittent: false) {
            try Self.storageSuite(bug).run()
        } matching: { issue in Self.counts(issue, for: bug) }
    }
}
