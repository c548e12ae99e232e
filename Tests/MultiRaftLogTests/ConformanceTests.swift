import MemoryStore
import MultiRaftLog
import RaftStorage
import RaftStorageTesting
import Testing

/// Every LogStore rule on one group's view, with neighbour groups in the same engine: clean
/// restarts, then simulated power failures at the same points.
@Suite("GroupLog conformance")
struct GroupLogConformanceTests {
    static let suite = LogStoreConformance(
        makeStore: { try EngineFixtures.newGroupLog() },
        reopen: { log in try EngineFixtures.reopen(log) },
        crash: { log in try EngineFixtures.crash(log) })

    @Test(arguments: suite.cases)
    func conformance(_ testCase: LogStoreConformance<GroupLog>.Case) throws {
        #expect(Self.suite.durabilityChecked)
        try Self.suite.run(testCase)
    }
}

/// The same cases with a neighbour's write before every write of the group under test.
@Suite("GroupLog conformance, interleaved with another group")
struct InterleavedConformanceTests {
    static let suite = LogStoreConformance(
        makeStore: { InterleavedLog(try EngineFixtures.newGroupLog()) },
        reopen: { old in InterleavedLog(try EngineFixtures.reopen(old.log)) },
        crash: { old in InterleavedLog(try EngineFixtures.crash(old.log)) })

    @Test(arguments: suite.cases)
    func conformance(_ testCase: LogStoreConformance<InterleavedLog>.Case) throws {
        try Self.suite.run(testCase)
    }
}

/// raft's workloads through `Storage` over a group's view, across restarts and crashes.
@Suite("Storage over GroupLog")
struct GroupLogStorageConformanceTests {
    static let suite = StorageConformance(
        makeStore: { (try EngineFixtures.newGroupLog(), MemorySnapshotStore()) },
        reopen: { log, snapshots in (try EngineFixtures.reopen(log), snapshots) },
        crash: { log, snapshots in (try EngineFixtures.crash(log), snapshots) })

    @Test(arguments: suite.cases)
    func restart(_ testCase: StorageConformance<GroupLog, MemorySnapshotStore>.Case) throws {
        try Self.suite.run(testCase)
    }
}
