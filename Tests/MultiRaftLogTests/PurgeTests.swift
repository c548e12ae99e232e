import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Testing

@Suite("Purge")
struct PurgeTests {
    static let laggard: UInt64 = 1
    static let busy: UInt64 = 2

    static func entries(_ indexes: ClosedRange<UInt64>, group: UInt64, size: Int = 200) -> [Entry] {
        indexes.map { Entry(term: 1, index: $0, data: Array(repeating: UInt8(truncatingIfNeeded: $0 &+ group), count: size)) }
    }

    /// A laggard that wrote three entries first and nothing since, and a busy group that wrote
    /// 200 entries over many small files and compacted all but the last ten.
    static func engineWithLaggard() throws -> LogEngine {
        let engine = try EngineFixtures.newEngine(fileSize: 4096)
        let laggard = engine.log(for: Self.laggard)
        try laggard.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: Self.entries(1...3, group: Self.laggard))
        let busy = engine.log(for: Self.busy)
        for start in stride(from: UInt64(1), through: 200, by: 5) {
            try busy.save(hardState: HardState(term: 1, vote: 2, commit: start + 4), entries: Self.entries(start...(start + 4), group: Self.busy))
        }
        try busy.recordSnapshot(SnapshotMetadata(index: 190, term: 1))
        try busy.compact(through: 190)
        return engine
    }

    static func logFiles(_ engine: LogEngine) throws -> [String] {
        try EngineFixtures.fileSystem(of: engine).files(under: engine.directory).filter { $0.hasSuffix(".rlog") }
    }

    static func expectIntact(_ engine: LogEngine, _ label: String) throws {
        let laggard = engine.log(for: Self.laggard)
        #expect(try laggard.entries(in: 1..<4) == Self.entries(1...3, group: Self.laggard), "\(label): laggard's entries")
        #expect(try laggard.hardState() == HardState(term: 1, vote: 1, commit: 2), "\(label): laggard's HardState")
        let busy = engine.log(for: Self.busy)
        #expect(try busy.firstIndex() == 191, "\(label): busy group's first index")
        #expect(try busy.entries(in: 191..<201) == Self.entries(191...200, group: Self.busy), "\(label): busy group's entries")
        #expect(try busy.snapshotMarker().index == 190, "\(label): busy group's marker")
    }

    @Test func rewritesTheLaggardAndRemovesOldFiles() throws {
        let engine = try Self.engineWithLaggard()
        let before = try Self.logFiles(engine)
        #expect(before.count > 10)
        let report = try engine.purge(budget: 1 << 20)
        #expect(report.groupsRewritten.contains(Self.laggard))
        #expect(report.bytesRewritten > 0)
        // Everything but the current file (and the one the rewrite may have started) is gone.
        #expect(report.filesRemoved.count >= before.count - 2)
        #expect(report.filesRemoved == Array(before.prefix(report.filesRemoved.count)))
        #expect(report.oldestFileHolders.isEmpty || report.oldestFile != nil)
        #expect(try Self.logFiles(engine).count <= 2)
        try Self.expectIntact(engine, "after purge")

        // The rewrite is durable: a power failure right after the purge loses nothing.
        try EngineFixtures.fileSystem(of: engine).crash(.dropUnsynced)
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        try Self.expectIntact(reopened, "after a crash")
        // And the engine goes on writing after the rewritten records.
        try reopened.log(for: Self.laggard).append(Self.entries(4...4, group: Self.laggard))
        try reopened.close()
        let again = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try again.log(for: Self.laggard).entries(in: 1..<5) == Self.entries(1...4, group: Self.laggard))
    }

    @Test func budgetBoundsEachCallButEveryCallProgresses() throws {
        let engine = try Self.engineWithLaggard()
        let first = try engine.purge(budget: 0)
        // The first group of a call is rewritten whatever the budget; the next one waits.
        #expect(first.groupsRewritten.count == 1)
        #expect(first.filesRemoved.isEmpty)
        #expect(first.oldestFileHolders.count == 1)
        #expect(first.oldestFile == (try Self.logFiles(engine).first))
        var calls = 1
        var report = first
        while report.oldestFile != nil && calls < 50 {
            report = try engine.purge(budget: 0)
            calls += 1
        }
        #expect(report.oldestFile == nil)
        #expect(try Self.logFiles(engine).count <= 2)
        try Self.expectIntact(engine, "after budgeted purges")
        try engine.close()
        try Self.expectIntact(try LogEngine(directory: engine.directory, options: engine.options), "after reopening")
    }

    /// Two laggards each holding more than a file: every rewrite fills a new file, so a purge
    /// that also worked on the files its own rewrites made would never end.
    @Test func rewritesFillingNewFilesDoNotKeepTheCallGoing() throws {
        let engine = try EngineFixtures.newEngine(fileSize: 2048)
        for round in 0..<UInt64(4) {
            for group in [Self.laggard, Self.busy] {
                try engine.log(for: group).append(Self.entries((round * 5 + 1)...(round * 5 + 5), group: group, size: 300))
            }
        }
        let before = try Self.logFiles(engine)
        let report = try engine.purge(budget: 1 << 20)
        #expect(Set(report.groupsRewritten) == [Self.laggard, Self.busy])
        #expect(report.filesRemoved == Array(before.dropLast()))
        for group in [Self.laggard, Self.busy] {
            #expect(try engine.log(for: group).entries(in: 1..<21) == Self.entries(1...20, group: group, size: 300))
        }
    }

    @Test func removedGroupReleasesItsFiles() throws {
        let engine = try EngineFixtures.newEngine(fileSize: 4096)
        let removed: UInt64 = 9
        for start in stride(from: UInt64(1), through: 100, by: 5) {
            try engine.log(for: removed).append(Self.entries(start...(start + 4), group: removed))
        }
        try engine.log(for: Self.laggard).append(Self.entries(1...2, group: Self.laggard))
        #expect(try Self.logFiles(engine).count > 5)
        try engine.removeGroup(removed)
        #expect(try engine.log(for: removed).lastIndex() == 0)
        #expect(try engine.groupIDs() == [Self.laggard])
        let report = try engine.purge()
        #expect(!report.groupsRewritten.contains(removed))
        #expect(try Self.logFiles(engine).count == 1)
        try engine.close()
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try reopened.groupIDs() == [Self.laggard])
        #expect(try reopened.log(for: removed).lastIndex() == 0)
        #expect(try reopened.log(for: Self.laggard).entries(in: 1..<3) == Self.entries(1...2, group: Self.laggard))
    }

    @Test func damageInAnEntryBeingCopiedStopsThePurge() throws {
        let engine = try Self.engineWithLaggard()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let oldest = try #require(try Self.logFiles(engine).first)
        var bytes = try #require(fileSystem.contents(of: oldest))
        // Inside the laggard's first entry, the first record of the first file.
        bytes[100] ^= 0x10
        fileSystem.setContents(of: oldest, to: bytes)
        let error = #expect(throws: StorageError.self) { try engine.purge() }
        #expect(error?.code == .crcMismatch)
        #expect(try Self.logFiles(engine).first == oldest)
    }
}
