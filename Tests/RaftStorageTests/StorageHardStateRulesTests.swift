import MemoryStore
import RaftStorage
import Testing

/// `Storage.save` refuses a HardState that breaks raft's invariants before writing anything -
/// a snapshot in the same batch included - over memory stores.
@Suite("Storage HardState rules")
struct StorageHardStateRulesTests {
    let log = MemoryLogStore()
    let snapshots = MemorySnapshotStore()

    func open() throws -> MemoryStorage {
        try Storage(log: log, snapshots: snapshots)
    }

    static func snapshot(index: UInt64, term: UInt64) -> Snapshot {
        Snapshot(data: [UInt8(truncatingIfNeeded: index)], metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: index, term: term))
    }

    /// Expects `body` to be refused with `invalidArgument`.
    static func expectRefused(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try body() } throws: { ($0 as? StorageError)?.code == .invalidArgument }
    }

    @Test func aCommitPastTheLastIndexIsRefused() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: makeTestEntries(1...3))
        Self.expectRefused { try storage.save(hardState: HardState(term: 1, vote: 1, commit: 10), entries: []) }
        Self.expectRefused { try storage.save(hardState: HardState(term: 1, vote: 1, commit: 5), entries: makeTestEntries(4...4)) }
        #expect(try storage.initialState().hardState == HardState(term: 1, vote: 1, commit: 2))
        #expect(try storage.lastIndex() == 3)
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 4), entries: makeTestEntries(4...4))
        #expect(try storage.initialState().hardState == HardState(term: 1, vote: 1, commit: 4))
    }

    @Test func aCommitPastASnapshotWithoutEntriesIsRefusedAndTheSnapshotIsNotSaved() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: makeTestEntries(1...3))
        Self.expectRefused {
            try storage.save(hardState: HardState(term: 2, vote: 0, commit: 12), entries: [], snapshot: Self.snapshot(index: 10, term: 2))
        }
        #expect(try snapshots.list().isEmpty, "the snapshot store was not written")
        #expect(try log.snapshotMarker() == .zero, "the log did not apply the snapshot")
        #expect(storage.snapshotMetadata.index == 0)
        #expect(try storage.lastIndex() == 3)
        #expect(try storage.initialState().hardState == HardState(term: 1, vote: 1, commit: 2))
    }

    @Test func aSnapshotMovesTheLastIndexToItsIndexOrToTheEntriesAfterIt() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: makeTestEntries(1...3))
        // Entries at or below the snapshot are dropped: the last index after the save is 10.
        try storage.save(
            hardState: HardState(term: 2, vote: 0, commit: 10), entries: makeTestEntries(9...10, term: 2),
            snapshot: Self.snapshot(index: 10, term: 2))
        #expect(try storage.lastIndex() == 10)
        Self.expectRefused {
            try storage.save(hardState: HardState(term: 3, vote: 0, commit: 21), entries: makeTestEntries(19...20, term: 3), snapshot: Self.snapshot(index: 18, term: 3))
        }
        #expect(try snapshots.list().map(\.index) == [10])
        try storage.save(
            hardState: HardState(term: 3, vote: 0, commit: 20), entries: makeTestEntries(19...20, term: 3),
            snapshot: Self.snapshot(index: 18, term: 3))
        #expect(try storage.initialState().hardState == HardState(term: 3, vote: 0, commit: 20))
        #expect(try storage.firstIndex() == 19)
        #expect(try storage.lastIndex() == 20)
    }

    @Test func aLowerTermIsRefusedBeforeTheSnapshotIsSaved() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 3, vote: 1, commit: 0), entries: [])
        Self.expectRefused {
            try storage.save(hardState: HardState(term: 2, vote: 0, commit: 10), entries: [], snapshot: Self.snapshot(index: 10, term: 2))
        }
        #expect(try snapshots.list().isEmpty)
        #expect(try storage.initialState().hardState == HardState(term: 3, vote: 1, commit: 0))
    }

    @Test func aVoteCastInATermNeverChangesWithinIt() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 2, vote: 0, commit: 0), entries: [])
        try storage.save(hardState: HardState(term: 2, vote: 1, commit: 0), entries: [])
        Self.expectRefused { try storage.save(hardState: HardState(term: 2, vote: 3, commit: 0), entries: makeTestEntries(1...1, term: 2)) }
        #expect(try storage.lastIndex() == 0)
        #expect(try storage.initialState().hardState == HardState(term: 2, vote: 1, commit: 0))
        try storage.save(hardState: HardState(term: 3, vote: 3, commit: 1), entries: makeTestEntries(1...1, term: 3))
        #expect(try storage.initialState().hardState == HardState(term: 3, vote: 3, commit: 1))
    }

    @Test func anEmptyHardStateIsNeverRefused() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 2, vote: 1, commit: 1), entries: makeTestEntries(1...2, term: 2))
        try storage.save(hardState: .empty, entries: makeTestEntries(3...4, term: 2))
        #expect(try storage.initialState().hardState == HardState(term: 2, vote: 1, commit: 1))
        #expect(try storage.lastIndex() == 4)
    }

    /// Recovery commits a snapshot installed without its HardState through the log's own save;
    /// that synthesized state keeps the rules.
    @Test func recoveryStillCommitsAnInstalledSnapshot() throws {
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeTestEntries(1...5))
        let installed = Self.snapshot(index: 10, term: 2)
        try snapshots.save(installed)
        try log.applySnapshot(installed.metadata)
        let storage = try open()
        #expect(try storage.initialState().hardState == HardState(term: 2, vote: 0, commit: 10))
        #expect(storage.recovery.snapshot == installed.metadata.marker)
        #expect(try storage.snapshot() == installed)
    }
}
