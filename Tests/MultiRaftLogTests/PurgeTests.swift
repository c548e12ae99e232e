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

    @Test func zeroBudgetCopiesNothingAndSaysWhy() throws {
        let engine = try Self.engineWithLaggard()
        let before = try Self.logFiles(engine)
        let report = try engine.purge(budget: 0)
        // The laggard's entries pin the oldest file; a budget of 0 may not copy them.
        #expect(report.bytesRewritten == 0)
        #expect(report.groupsRewritten.isEmpty)
        #expect(report.filesRemoved.isEmpty)
        #expect(report.oldestFile == before.first)
        #expect(report.oldestFileHolders.first == Self.laggard)
        let entrySize = try #require(report.entryLargerThanBudget)
        #expect(entrySize > 200)
        #expect(try Self.logFiles(engine) == before)
        // A budget of one entry moves past it, one entry per call.
        let next = try engine.purge(budget: entrySize)
        #expect(next.bytesRewritten == entrySize)
        #expect(next.groupRewrittenInPart == Self.laggard)
        #expect(next.entryLargerThanBudget == nil)
        try Self.expectIntact(engine, "after a one-entry purge")
    }

    @Test func negativeBudgetIsRefused() throws {
        let engine = try Self.engineWithLaggard()
        let error = #expect(throws: StorageError.self) { try engine.purge(budget: -1) }
        #expect(error?.code == .invalidArgument)
    }

    /// A laggard holding far more than the budget, spread over the oldest files: no call copies
    /// more than the budget, the laggard moves in parts, the files it pinned go, and its entries
    /// survive a power failure in the middle and a reopen at the end.
    @Test func budgetIsAHardCapAndALargeGroupMovesInParts() throws {
        let engine = try EngineFixtures.newEngine(fileSize: 4096)
        let laggard = engine.log(for: Self.laggard)
        let laggardEntries = Self.entries(1...60, group: Self.laggard)
        for start in stride(from: 0, to: 60, by: 6) {
            try laggard.save(hardState: HardState(term: 1, vote: 1, commit: UInt64(start + 6)), entries: Array(laggardEntries[start..<(start + 6)]))
        }
        let busy = engine.log(for: Self.busy)
        for start in stride(from: UInt64(1), through: 200, by: 5) {
            try busy.save(hardState: HardState(term: 1, vote: 2, commit: start + 4), entries: Self.entries(start...(start + 4), group: Self.busy))
        }
        try busy.recordSnapshot(SnapshotMetadata(index: 200, term: 1))
        try busy.compact(through: 200)
        let original = Set(try Self.logFiles(engine))
        #expect(original.count > 10)

        let budget = 1000
        var current = engine
        var calls = 0
        var inPart = 0
        var crashed = false
        while !Set(try Self.logFiles(current)).isDisjoint(with: original) && calls < 200 {
            let before = try Self.logFiles(current)
            let report = try current.purge(budget: budget)
            calls += 1
            // Only files sealed before the call: never the one current when it began, nor any
            // its own copies filled.
            #expect(Set(report.filesRemoved).isSubset(of: before.dropLast()), "call \(calls) removed \(report.filesRemoved)")
            #expect(report.bytesRewritten <= budget, "call \(calls) copied \(report.bytesRewritten) bytes")
            #expect(report.bytesRewritten > 0 || !report.filesRemoved.isEmpty, "call \(calls) made no progress")
            #expect(report.entryLargerThanBudget == nil)
            if report.groupRewrittenInPart != nil {
                #expect(report.groupRewrittenInPart == Self.laggard)
                #expect(report.stoppedByBudget)
                inPart += 1
            }
            // Once files have gone and a rewrite is half done: a power failure.
            let originalRemoved = original.count - Set(try Self.logFiles(current)).intersection(original).count
            if !crashed && inPart >= 3 && originalRemoved >= 3 {
                crashed = true
                try EngineFixtures.fileSystem(of: current).crash(.dropUnsynced)
                current = try LogEngine(directory: engine.directory, options: engine.options)
                #expect(try current.log(for: Self.laggard).entries(in: 1..<61) == laggardEntries, "after the power failure")
            }
        }
        #expect(crashed)
        #expect(inPart >= 5, "the laggard moved in parts (\(inPart) of \(calls) calls)")
        #expect(Set(try Self.logFiles(current)).isDisjoint(with: original), "the original files are gone after \(calls) calls")
        try current.close()
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try reopened.log(for: Self.laggard).entries(in: 1..<61) == laggardEntries)
        #expect(try reopened.log(for: Self.laggard).hardState() == HardState(term: 1, vote: 1, commit: 60))
        #expect(try reopened.log(for: Self.busy).firstIndex() == 201)
    }

    /// A rewrite that refers to entries left in a later file, which the group then compacts
    /// away: the file those entries were in still holds what the rewrite's record points at, so
    /// the group is rewritten again before that file goes, and the engine reopens.
    @Test func compactionAfterARewriteLeavesNoDanglingReference() throws {
        let engine = try EngineFixtures.newEngine(fileSize: 4096)
        let group: UInt64 = 5
        let filler: UInt64 = 6
        let log = engine.log(for: group)
        let fillerLog = engine.log(for: filler)
        var fillerNext: UInt64 = 1
        func fill() throws {
            // Enough to start a new file.
            for _ in 0..<4 {
                try fillerLog.append(Self.entries(fillerNext...(fillerNext + 4), group: filler))
                fillerNext += 5
            }
        }
        try log.append(Self.entries(1...3, group: group))
        try fill()
        try log.append(Self.entries(4...6, group: group))
        try fill()
        try fillerLog.compact(through: fillerNext - 1)
        let entrySize = 208
        // Copies entries 1-3 (the oldest file goes), then has no budget left for 4-6: the
        // group's rewrite now refers to them in the next file.
        let first = try engine.purge(budget: 3 * entrySize)
        #expect(first.bytesRewritten == 3 * entrySize)
        #expect(first.filesRemoved.count == 1)
        #expect(first.oldestFileHolders.contains(group))
        try log.compact(through: 6)
        let second = try engine.purge(budget: 0)
        #expect(second.bytesRewritten == 0)
        #expect(second.groupsRewritten.contains(group))
        #expect(second.oldestFile == nil)
        try engine.close()
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try reopened.log(for: group).firstIndex() == 7)
        #expect(try reopened.log(for: group).lastIndex() == 6)
        #expect(try reopened.log(for: filler).firstIndex() == fillerNext)
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
