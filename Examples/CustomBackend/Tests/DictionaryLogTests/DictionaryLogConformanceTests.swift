import DictionaryLog
import MemoryStore
import RaftStorage
import RaftStorageTesting
import Testing

/// The whole framework suite, run by a backend that lives outside the framework.
@Suite("DictionaryLogStore conformance")
struct DictionaryLogConformanceTests {
    typealias Suite = LogStoreConformance<DictionaryLogStore>

    static let suite = Suite(
        makeStore: { DictionaryLogStore(disk: DictionaryDisk()) },
        // A restart: the suite closed the store (a sync), and the disk holds what it synced.
        reopen: { store in DictionaryLogStore(disk: store.diskForTests) },
        // A crash: the store is abandoned without close(), and what it synced is all that is left.
        crash: { store in DictionaryLogStore(disk: store.diskForTests) })

    @Test(arguments: suite.cases)
    func logStore(_ testCase: Suite.Case) throws {
        try Self.suite.run(testCase)
    }

    static let storageSuite = StorageConformance(
        makeStore: { (DictionaryLogStore(disk: DictionaryDisk()), MemorySnapshotStore()) },
        reopen: { log, snapshots in (DictionaryLogStore(disk: log.diskForTests), snapshots) },
        // Memory snapshots stand in for durable ones: the crash keeps them.
        crash: { log, snapshots in (DictionaryLogStore(disk: log.diskForTests), snapshots) })

    @Test(arguments: storageSuite.cases)
    func storageRestarts(_ testCase: StorageConformance<DictionaryLogStore, MemorySnapshotStore>.Case) throws {
        try Self.storageSuite.run(testCase)
    }

    @Test func durabilityIsChecked() {
        #expect(Self.suite.durabilityChecked)
        #expect(Self.storageSuite.durabilityChecked)
    }
}
