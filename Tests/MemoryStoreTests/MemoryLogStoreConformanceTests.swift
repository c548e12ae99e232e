import MemoryStore
import RaftStorage
import RaftStorageTesting
import Testing

@Suite("MemoryLogStore conformance")
struct MemoryLogStoreConformanceTests {
    static let suite = LogStoreConformance(makeStore: { MemoryLogStore() })
    /// The store continued as its `reopened()` copy once the suite closed it: exercises the
    /// suite's restart checks, which a memory store passes by keeping everything.
    static let reopening = LogStoreConformance(makeStore: { MemoryLogStore() }, reopen: { store in store.reopened() })

    @Test(arguments: suite.cases)
    func conformance(_ testCase: LogStoreConformance<MemoryLogStore>.Case) throws {
        try Self.suite.run(testCase)
    }

    @Test(arguments: reopening.cases)
    func conformanceThroughRestartChecks(_ testCase: LogStoreConformance<MemoryLogStore>.Case) throws {
        try Self.reopening.run(testCase)
    }

    /// A memory store has nothing to make durable, so it gives the suite no crash closure and
    /// the suite must not claim to have checked durability.
    @Test func durabilityIsNotClaimed() {
        #expect(!Self.suite.durabilityChecked)
        #expect(!Self.reopening.durabilityChecked)
    }

    @Test func suiteHasAtLeastFortyCases() {
        #expect(Self.suite.cases.count >= 40)
        let names = Self.suite.cases.map(\.name)
        #expect(Set(names).count == names.count, "case names are unique")
        #expect(Self.reopening.cases.map(\.name) == names, "the hooks do not change the cases")
    }
}
