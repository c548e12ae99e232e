import MemoryStore
import RaftStorage
import RaftStorageTesting
import Synchronization
import Testing

/// The conformance kit reports through ``ConformanceReporting`` rather than straight to Swift
/// Testing, so an XCTest suite (or any other runner) sees every failed check: these tests run
/// failing cases against the deliberately broken stores of ``BrokenLogStore`` with a reporter
/// installed, and look at what it received.
///
/// None of them expects a Swift Testing issue: a reporter installed takes precedence, so a
/// failed check recorded as an issue of the running test instead would fail the test itself.
@Suite("The conformance kit reports to an installed reporter")
struct ConformanceReportingTests {
    typealias LogSuite = LogStoreConformance<BrokenLogStore>

    /// Collects what a reporter receives; the reporter may be called from any thread.
    final class Collector: Sendable {
        private let issues = Mutex<[ConformanceIssue]>([])

        func append(_ issue: ConformanceIssue) { issues.withLock { $0.append(issue) } }

        var all: [ConformanceIssue] { issues.withLock { $0 } }
    }

    static func logCase(named name: String) throws -> LogSuite.Case {
        try #require(BrokenBackendTests.logSuite(nil).cases.first { $0.name == name }, "no LogStoreConformance case named \(name)")
    }

    @Test("a failing LogStoreConformance case reports to the reporter, naming the backend, the case, the caller's line and the case's step")
    func failingLogCase() throws {
        let name = "term: below the boundary is compacted"
        let testCase = try Self.logCase(named: name)
        let suite = BrokenBackendTests.logSuite(.termBelowBoundaryUnavailable)
        let collector = Collector()
        let callerLine = #line + 1
        try ConformanceReporting.withReporter({ collector.append($0) }) { try suite.run(testCase) }

        let issues = collector.all
        #expect(!issues.isEmpty, "the broken store passed \(name)")
        for issue in issues {
            #expect(issue.caller.fileID == #fileID && issue.caller.line == callerLine, "\(issue): reported at \(issue.caller)")
            #expect(issue.caller.filePath == #filePath, "\(issue): reported in \(issue.caller.filePath)")
            #expect(issue.suite == "LogStoreConformance", "\(issue): the issue names the suite")
            #expect(issue.backend == "BrokenLogStore", "\(issue): the issue names the store type")
            #expect(issue.testCase == name, "\(issue): the issue names the case")
            #expect(issue.description.hasPrefix("LogStoreConformance of BrokenLogStore, case \"\(name)\""), "\(issue): the text names them")
            #expect(issue.step?.fileID.hasPrefix("RaftStorageTesting/") == true, "\(issue): no step inside the kit")
        }
        // Every run of the case fails, each naming its run.
        #expect(Set(issues.map(\.run)) == [nil, "reopen", "crash"], "\(issues.map(\.run))")
        // The case's own check, term(at: 2) expecting compacted, is the step that failed.
        let step = issues.first { $0.message.contains("term(at: 2): expected compacted") }?.step
        #expect(step?.fileID == "RaftStorageTesting/LogStoreCases+Reads.swift", "step \(String(describing: step))")
        #expect(issues.allSatisfy { $0.description.contains("[checked at RaftStorageTesting/") })
    }

    @Test("the same case against the correct store reports nothing")
    func passingLogCase() throws {
        let testCase = try Self.logCase(named: "term: below the boundary is compacted")
        let suite = BrokenBackendTests.logSuite(nil)
        let collector = Collector()
        try ConformanceReporting.withReporter({ collector.append($0) }) { try suite.run(testCase) }
        #expect(collector.all.isEmpty, "\(collector.all)")
    }

    @Test("a failing StorageConformance workload reports the driver's checks to the reporter")
    func failingStorageWorkload() throws {
        let suite = BrokenBackendTests.storageSuite(.losesTheVote)
        let testCase = try #require(suite.cases.first { $0.name == "restart after appends and HardState changes" })
        let collector = Collector()
        let callerLine = #line + 1
        try ConformanceReporting.withReporter({ collector.append($0) }) { try suite.run(testCase) }

        let issues = collector.all
        #expect(!issues.isEmpty, "a store that loses its vote passed \(testCase.name)")
        for issue in issues {
            #expect(issue.caller.fileID == #fileID && issue.caller.line == callerLine, "\(issue): reported at \(issue.caller)")
            #expect(issue.suite == "StorageConformance" && issue.testCase == testCase.name, "\(issue): names the suite and the case")
            #expect(issue.backend == "BrokenLogStore + MemorySnapshotStore", "\(issue): names both store types")
            #expect(issue.step?.fileID.hasPrefix("RaftStorageTesting/") == true, "\(issue): no step inside the kit")
        }
        // The driver's restart check finds the vote gone.
        #expect(issues.contains { $0.step?.fileID == "RaftStorageTesting/RaftNodeDriver.swift" }, "\(issues)")
    }
}
