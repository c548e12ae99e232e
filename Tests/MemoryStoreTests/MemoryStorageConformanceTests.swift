import MemoryStore
import RaftStorage
import RaftStorageTesting
import Testing

@Suite("Storage over memory stores: restart conformance")
struct MemoryStorageConformanceTests {
    static let suite = StorageConformance(
        makeStore: { (MemoryLogStore(), MemorySnapshotStore()) },
        // The suite closed the log; a snapshot store has no close.
        reopen: { log, snapshots in (log.reopened(), snapshots) })

    @Test(arguments: suite.cases)
    func restart(_ testCase: StorageConformance<MemoryLogStore, MemorySnapshotStore>.Case) throws {
        try Self.suite.run(testCase)
    }
}
