import MemoryStore
import RaftStorage
import RaftStorageTesting
import Testing

@Suite("MemorySnapshotStore conformance")
struct MemorySnapshotStoreConformanceTests {
    static let suite = SnapshotStoreConformance(makeStore: { MemorySnapshotStore() })

    @Test(arguments: suite.cases)
    func conformance(_ testCase: SnapshotStoreConformance<MemorySnapshotStore>.Case) throws {
        try Self.suite.run(testCase)
    }

    @Test func resetEmptiesTheStore() throws {
        let store = MemorySnapshotStore()
        try store.save(makeSnapshot(index: 3, term: 1))
        store.reset()
        #expect(try store.list().isEmpty)
    }
}
