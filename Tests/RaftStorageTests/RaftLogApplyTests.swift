import MemoryStore
import RaftStorage
import Testing

/// Handing committed entries to the application: `applying`, `applied`, the byte budget and
/// `allowUnstable`. The behaviours of etcd raft's log tests for `hasNextCommittedEnts`,
/// `nextCommittedEnts`, `acceptApplying` and `appliedTo`, in our own words.
@Suite("RaftLog applying")
struct RaftLogApplyTests {
    /// A log over storage holding a snapshot at (3, 1) and entry 4; entries 4...6 (term 1) are
    /// appended, 4 is acknowledged as persisted, and 5 is committed. So: applied 3, committed
    /// 5, entries 5 and 6 unstable.
    static func makeLog(maxApplyingBytes: UInt64 = .max) throws -> MemoryRaftLog {
        let storage = try makeStorage(snapshot: (3, 1), stable: entries([(4, 1)]))
        var log = try MemoryRaftLog(storage: storage, maxApplyingBytes: maxApplyingBytes)
        try log.append(entries([(4, 1), (5, 1), (6, 1)]))
        #expect(log.stable(to: 4, term: 1) == .accepted)
        #expect(try log.commit(to: 5, term: 1))
        #expect(log.applied == 3)
        #expect(log.applying == 3)
        return log
    }

    struct ApplyCase: Sendable, CustomTestStringConvertible {
        var applied: UInt64, applying: UInt64
        var allowUnstable: Bool
        var expected: [UInt64]
        var testDescription: String { "applied \(applied) applying \(applying) allowUnstable \(allowUnstable)" }
    }

    @Test(arguments: [
        ApplyCase(applied: 3, applying: 3, allowUnstable: true, expected: [4, 5]),
        ApplyCase(applied: 3, applying: 4, allowUnstable: true, expected: [5]),
        ApplyCase(applied: 3, applying: 5, allowUnstable: true, expected: []),
        ApplyCase(applied: 4, applying: 4, allowUnstable: true, expected: [5]),
        ApplyCase(applied: 4, applying: 5, allowUnstable: true, expected: []),
        ApplyCase(applied: 5, applying: 5, allowUnstable: true, expected: []),
        // Only entries acknowledged as persisted (through 4).
        ApplyCase(applied: 3, applying: 3, allowUnstable: false, expected: [4]),
        ApplyCase(applied: 3, applying: 4, allowUnstable: false, expected: []),
        ApplyCase(applied: 3, applying: 5, allowUnstable: false, expected: []),
        ApplyCase(applied: 4, applying: 4, allowUnstable: false, expected: []),
        ApplyCase(applied: 4, applying: 5, allowUnstable: false, expected: []),
        ApplyCase(applied: 5, applying: 5, allowUnstable: false, expected: []),
    ])
    func entriesToApplyStartAfterApplying(_ c: ApplyCase) throws {
        var log = try Self.makeLog()
        try log.applied(to: c.applied)
        try log.markApplying(through: c.applying, bytes: 0, allowUnstable: c.allowUnstable)
        #expect(!log.isApplyingPaused, "no byte limit: never paused")
        #expect(log.hasEntriesToApply(allowUnstable: c.allowUnstable) == !c.expected.isEmpty)
        #expect(try log.entriesToApply(allowUnstable: c.allowUnstable).map(\.index) == c.expected)
    }

    @Test func nothingIsHandedOutWhilePaused() throws {
        var log = try Self.makeLog(maxApplyingBytes: 100)
        try log.markApplying(through: 3, bytes: 100)
        #expect(log.isApplyingPaused)
        #expect(!log.hasEntriesToApply())
        #expect(try log.entriesToApply().isEmpty)
        #expect(try log.beginApplying().isEmpty)
    }

    @Test func nothingIsHandedOutWhileASnapshotIsPending() throws {
        var log = try Self.makeLog()
        try log.restore(Snapshot(metadata: SnapshotMetadata(index: 6, term: 1)))
        #expect(log.hasPendingSnapshot)
        #expect(!log.hasEntriesToApply())
        #expect(try log.entriesToApply().isEmpty)

        // Once the snapshot is persisted and applied, handing out resumes after it.
        #expect(log.stableSnapshot(at: 6, term: 1) == .accepted)
        try log.applied(to: 6)
        #expect(log.applying == 6)
        #expect(!log.hasEntriesToApply())
    }

    struct MarkCase: Sendable, CustomTestStringConvertible {
        var index: UInt64
        var allowUnstable: Bool
        var bytes: UInt64
        var paused: Bool
        var testDescription: String { "markApplying(through: \(index), bytes: \(bytes), allowUnstable: \(allowUnstable))" }
    }

    // Budget 100 bytes; the appliable end is 5, or 4 without unstable entries.
    @Test(arguments: [
        MarkCase(index: 3, allowUnstable: true, bytes: 99, paused: true),
        MarkCase(index: 3, allowUnstable: true, bytes: 100, paused: true),
        MarkCase(index: 3, allowUnstable: true, bytes: 101, paused: true),
        MarkCase(index: 4, allowUnstable: true, bytes: 99, paused: true),
        MarkCase(index: 4, allowUnstable: true, bytes: 100, paused: true),
        MarkCase(index: 4, allowUnstable: true, bytes: 101, paused: true),
        MarkCase(index: 5, allowUnstable: true, bytes: 99, paused: false),
        MarkCase(index: 5, allowUnstable: true, bytes: 100, paused: true),
        MarkCase(index: 5, allowUnstable: true, bytes: 101, paused: true),
        MarkCase(index: 3, allowUnstable: false, bytes: 99, paused: true),
        MarkCase(index: 3, allowUnstable: false, bytes: 100, paused: true),
        MarkCase(index: 3, allowUnstable: false, bytes: 101, paused: true),
        MarkCase(index: 4, allowUnstable: false, bytes: 99, paused: false),
        MarkCase(index: 4, allowUnstable: false, bytes: 100, paused: true),
        MarkCase(index: 4, allowUnstable: false, bytes: 101, paused: true),
        MarkCase(index: 5, allowUnstable: false, bytes: 99, paused: false),
        MarkCase(index: 5, allowUnstable: false, bytes: 100, paused: true),
        MarkCase(index: 5, allowUnstable: false, bytes: 101, paused: true),
    ])
    func markApplyingPausesOnABudgetUsedUpOrABatchCutShort(_ c: MarkCase) throws {
        var log = try Self.makeLog(maxApplyingBytes: 100)
        try log.markApplying(through: c.index, bytes: c.bytes, allowUnstable: c.allowUnstable)
        #expect(log.applying == c.index)
        #expect(log.applyingBytes == c.bytes)
        #expect(log.isApplyingPaused == c.paused)
    }

    struct AppliedCase: Sendable, CustomTestStringConvertible {
        var index: UInt64
        var bytes: UInt64
        var applyingBytes: UInt64
        var paused: Bool
        var testDescription: String { "applied(to: \(index), bytes: \(bytes))" }
    }

    // Budget 100 bytes; 105 bytes handed out through 5.
    @Test(arguments: [
        // Part of what was handed out.
        AppliedCase(index: 4, bytes: 4, applyingBytes: 101, paused: true),
        AppliedCase(index: 4, bytes: 5, applyingBytes: 100, paused: true),
        AppliedCase(index: 4, bytes: 6, applyingBytes: 99, paused: false),
        // All of it.
        AppliedCase(index: 5, bytes: 4, applyingBytes: 101, paused: true),
        AppliedCase(index: 5, bytes: 5, applyingBytes: 100, paused: true),
        AppliedCase(index: 5, bytes: 6, applyingBytes: 99, paused: false),
        // Every outstanding byte, and more than that (the count never goes below zero).
        AppliedCase(index: 4, bytes: 105, applyingBytes: 0, paused: false),
        AppliedCase(index: 4, bytes: 106, applyingBytes: 0, paused: false),
    ])
    func appliedReleasesTheBudget(_ c: AppliedCase) throws {
        var log = try Self.makeLog(maxApplyingBytes: 100)
        try log.markApplying(through: 5, bytes: 105, allowUnstable: false)
        try log.applied(to: c.index, bytes: c.bytes)
        #expect(log.applied == c.index)
        #expect(log.applying == 5)
        #expect(log.applyingBytes == c.applyingBytes)
        #expect(log.isApplyingPaused == c.paused)
    }

    @Test func beginApplyingHandsOutABatchOnceWithinTheBudget() throws {
        let entrySize = UInt64(Entry(term: 1, index: 4).encodedSize)
        var log = try Self.makeLog(maxApplyingBytes: entrySize)
        let first = try log.beginApplying()
        #expect(first.map(\.index) == [4])
        #expect(log.applying == 4)
        #expect(log.applyingBytes == entrySize)
        #expect(log.isApplyingPaused)
        #expect(try log.beginApplying().isEmpty, "the budget is used up until 4 is applied")

        try log.applied(to: 4, bytes: first.totalEncodedSize)
        #expect(!log.isApplyingPaused)
        let second = try log.beginApplying()
        #expect(second.map(\.index) == [5])
        try log.applied(to: 5, bytes: second.totalEncodedSize)
        #expect(try log.beginApplying().isEmpty)
        #expect(log.applied == 5)
        #expect(log.applyingBytes == 0)
    }

    @Test func withoutAllowUnstableOnlyPersistedEntriesAreApplied() throws {
        var log = try Self.makeLog()
        #expect(log.maxAppliableIndex(allowUnstable: false) == 4)
        #expect(log.maxAppliableIndex() == 5)
        #expect(try log.beginApplying(allowUnstable: false).map(\.index) == [4])
        #expect(try log.beginApplying(allowUnstable: false).isEmpty)
        let write = log.beginWrite()
        try log.storage.save(hardState: .empty, entries: write.entries)
        #expect(log.stable(to: 6, term: 1) == .accepted)
        #expect(try log.beginApplying(allowUnstable: false).map(\.index) == [5])
    }

    @Test func theSynchronousFlowNeedsNoMarking() throws {
        var log = try Self.makeLog()
        #expect(try log.entriesToApply().map(\.index) == [4, 5])
        #expect(try log.entriesToApply().map(\.index) == [4, 5], "reading marks nothing")
        try log.applied(to: 5)
        #expect(log.applying == 5)
        #expect(try log.entriesToApply().isEmpty)
    }

    @Test func applyingStaysBetweenApplyingAndCommitted() throws {
        var log = try Self.makeLog()
        let beyond = #expect(throws: StorageError.self) { try log.markApplying(through: 6, bytes: 0) }
        #expect(beyond?.code == .invariantViolation)
        #expect(beyond?.message.contains("applying (6) must not pass committed (5)") == true)
        try log.markApplying(through: 5, bytes: 0)
        let behind = #expect(throws: StorageError.self) { try log.markApplying(through: 4, bytes: 0) }
        #expect(behind?.code == .invariantViolation)
        #expect(behind?.message.contains("applying (4) must not go below the previous applying (5)") == true)
        #expect(log.applying == 5)
    }
}
