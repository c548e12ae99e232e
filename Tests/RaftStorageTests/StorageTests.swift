import MemoryStore
import RaftStorage
import Testing

@Suite("Storage")
struct StorageTests {
    let journal = Journal()
    let log: RecordingLogStore
    let snapshots: RecordingSnapshotStore

    init() {
        log = RecordingLogStore(journal: journal)
        snapshots = RecordingSnapshotStore(journal: journal)
    }

    func open(_ options: Storage<RecordingLogStore, RecordingSnapshotStore>.Options = .init()) throws -> Storage<RecordingLogStore, RecordingSnapshotStore> {
        let storage = try Storage(log: log, snapshots: snapshots, options: options)
        journal.reset()
        return storage
    }

    @Test func aReadyWithASnapshotIsPersistedInEtcdOrder() throws {
        let storage = try open(.init(retainedSnapshots: 3))
        let snapshot = Snapshot(data: [7], metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 10, term: 2))
        try storage.save(hardState: HardState(term: 2, vote: 1, commit: 10), entries: [Entry(term: 2, index: 11)], snapshot: snapshot)
        #expect(journal.entries == [
            "snapshots.save(10)", "log.applySnapshot(10)", "log.save(1 entries, commit 10)", "log.sync", "snapshots.retainNewest(3)",
        ])
        #expect(try storage.snapshot() == snapshot)
        #expect(try storage.initialState().confState == ConfState(voters: [1]))
    }

    @Test func aReadyWithoutASnapshotOnlySavesTheLog() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1)])
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [], snapshot: Snapshot())
        #expect(journal.entries == ["log.save(1 entries, commit 0)", "log.save(0 entries, commit 1)"])
    }

    @Test func aLocalSnapshotIsSavedRecordedSyncedThenCompacted() throws {
        let storage = try open(.init(retainedEntries: 3, retainedSnapshots: 2))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 10), entries: makeTestEntries(1...12))
        journal.reset()
        let snapshot = try storage.createSnapshot(at: 10, confState: ConfState(voters: [1, 2]), data: [1, 2, 3])
        #expect(snapshot.metadata == SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 10, term: 1))
        #expect(journal.entries == ["snapshots.save(10)", "log.recordSnapshot(10)", "log.sync", "log.compact(7)", "snapshots.retainNewest(2)"])
        #expect(try storage.firstIndex() == 8)
        #expect(try storage.lastIndex() == 12)
    }

    @Test func aSnapshotWithinTheRetainedEntriesDoesNotCompact() throws {
        let storage = try open(.init(retainedEntries: 50))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 10), entries: makeTestEntries(1...10))
        try storage.createSnapshot(at: 10, data: nil)
        #expect(!journal.entries.contains { $0.hasPrefix("log.compact") })
        #expect(try storage.firstIndex() == 1)
    }

    @Test func aSnapshotKeepsThePreviousMembershipWhenNoneIsGiven() throws {
        let storage = try open(.init(retainedEntries: 0))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 6), entries: makeTestEntries(1...6))
        try storage.createSnapshot(at: 3, confState: ConfState(voters: [4, 5]), data: [])
        let second = try storage.createSnapshot(at: 6, data: [])
        #expect(second.metadata.confState == ConfState(voters: [4, 5]))
        // Compaction stops at the oldest snapshot kept (3), which a fallback would need.
        #expect(try storage.firstIndex() == 4)
    }

    @Test func compactionNeverPassesTheOldestSnapshotKept() throws {
        let storage = try open(.init(retainedEntries: 0, retainedSnapshots: 2))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 9), entries: makeTestEntries(1...9))
        try storage.createSnapshot(at: 3, data: [])
        #expect(try storage.firstIndex() == 4)
        try storage.createSnapshot(at: 6, data: [])
        #expect(try storage.firstIndex() == 4, "snapshots 3 and 6 are kept")
        try storage.createSnapshot(at: 9, data: [])
        #expect(try storage.firstIndex() == 7, "snapshot 3 is removed; 6 is the oldest kept")
    }

    @Test func snapshotsBeyondTheCommitOrNotNewerAreRefused() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 4), entries: makeTestEntries(1...8))
        let beyond = #expect(throws: StorageError.self) { try storage.createSnapshot(at: 5, data: nil) }
        #expect(beyond?.code == .invalidArgument)
        try storage.createSnapshot(at: 4, data: nil)
        let older = #expect(throws: StorageError.self) { try storage.createSnapshot(at: 4, data: nil) }
        #expect(older?.code == .snapshotOutOfDate)
    }

    @Test func oldSnapshotsBeyondTheRetentionAreRemoved() throws {
        let storage = try open(.init(retainedEntries: 100, retainedSnapshots: 2))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 9), entries: makeTestEntries(1...9))
        for index in [3, 6, 9] as [UInt64] { try storage.createSnapshot(at: index, data: [UInt8(index)]) }
        #expect(try snapshots.list().map(\.index) == [9, 6])
    }

    @Test func recoveryFallsBackToAnOlderSnapshotWhenTheNewestIsMissing() throws {
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 8), entries: makeTestEntries(1...8))
        let older = Snapshot(data: [4], metadata: SnapshotMetadata(confState: ConfState(voters: [9]), index: 4, term: 1))
        try snapshots.save(older)
        try log.recordSnapshot(SnapshotMetadata(index: 6, term: 1))
        log.offerMarkers([SnapshotMarker(index: 4, term: 1)])
        let storage = try Storage(log: log, snapshots: snapshots)
        #expect(log.lastResume == SnapshotMarker(index: 4, term: 1))
        #expect(storage.recovery.resumedFromOlderMarker)
        #expect(storage.recovery.snapshot == SnapshotMarker(index: 4, term: 1))
        #expect(try storage.initialState().confState == ConfState(voters: [9]))
        #expect(try storage.snapshot() == older)
    }

    @Test func recoveryFailsWhenTheLogStartsAfterALostSnapshot() throws {
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 8), entries: makeTestEntries(1...8))
        try log.compact(through: 4)
        try log.recordSnapshot(SnapshotMetadata(index: 6, term: 1))
        let error = #expect(throws: StorageError.self) { try Storage(log: log, snapshots: snapshots) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("snapshot store holds none") == true)
    }

    @Test func recoveryRefusesACommitIndexPastTheLog() throws {
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: makeTestEntries(1...5))
        // No log saves a commit past its last index; this one pretends to hold one, as a log
        // that lost its tail would.
        log.pretendHardState(HardState(term: 1, vote: 1, commit: 9))
        let error = #expect(throws: StorageError.self) { try Storage(log: log, snapshots: snapshots) }
        #expect(error?.code == .invariantViolation)
        #expect(error?.message.contains("state.commit 9 is out of range [0, 5]") == true)
    }

    @Test func aMissingSnapshotIsTemporarilyUnavailable() throws {
        let storage = try open()
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeTestEntries(1...3))
        try storage.createSnapshot(at: 3, data: [1])
        snapshots.base.reset()
        let error = #expect(throws: StorageError.self) { try storage.snapshot() }
        #expect(error?.code == .snapshotTemporarilyUnavailable)
    }

    @Test func withoutASnapshotTheSnapshotIsEmpty() throws {
        let storage = try open()
        #expect(try storage.snapshot().isEmpty)
        #expect(try storage.initialState() == .init(hardState: .empty, confState: ConfState()))
    }
}

/// Backends chosen at run time, as an application would from configuration.
@Suite("Run-time backend choice")
struct AnyStoreTests {
    static func makeStorage(durableLog: Bool) throws -> Storage<AnyLogStore, AnySnapshotStore> {
        let log: any LogStore = durableLog ? RecordingLogStore(journal: Journal()) : MemoryLogStore()
        return try Storage(log: AnyLogStore(log), snapshots: AnySnapshotStore(MemorySnapshotStore()))
    }

    @Test(arguments: [false, true])
    func storageWorksOverErasedStores(durableLog: Bool) throws {
        let storage = try Self.makeStorage(durableLog: durableLog)
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: makeTestEntries(1...3))
        try storage.createSnapshot(at: 2, confState: ConfState(voters: [1]), data: [42])
        #expect(try storage.entries(in: 1..<4).count == 3)
        #expect(try storage.snapshot().data == [42])
        #expect(storage.log.base is MemoryLogStore != durableLog)
    }

    @Test func erasingTwiceDoesNotNest() {
        let once = AnyLogStore(MemoryLogStore())
        let twice = AnyLogStore(once)
        #expect(twice.base is MemoryLogStore)
        #expect(AnySnapshotStore(AnySnapshotStore(MemorySnapshotStore())).base is MemorySnapshotStore)
    }
}

func makeTestEntries(_ indexes: ClosedRange<UInt64>, term: UInt64 = 1) -> [Entry] {
    indexes.map { Entry(term: term, index: $0, data: [UInt8(truncatingIfNeeded: $0)]) }
}

/// A snapshot file a crash left before its marker reached the log is never counted among the
/// snapshots kept: it must not push out the real ones.
@Suite("Storage and leftover snapshot files")
struct LeftoverSnapshotTests {
    @Test func aLeftoverNewerSnapshotDoesNotRemoveTheOneJustTaken() throws {
        let log = MemoryLogStore()
        let snapshots = MemorySnapshotStore()
        let storage = try Storage(log: log, snapshots: snapshots, options: .init(retainedEntries: 0, retainedSnapshots: 1))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 70), entries: (1...70).map { Entry(term: 1, index: $0) })
        try storage.createSnapshot(at: 50, confState: ConfState(voters: [1]), data: [50])
        // What a createSnapshot(at: 60) cut short by a crash leaves: the file, no marker.
        try snapshots.save(Snapshot(data: [60], metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 60, term: 1)))

        try storage.createSnapshot(at: 55, data: [55])
        #expect(try storage.snapshot().metadata.index == 55)
        #expect(try snapshots.list().contains(SnapshotMarker(index: 55, term: 1)))
        #expect(try storage.firstIndex() <= 56, "compacted past the snapshot kept")

        let installed = Snapshot(data: [65], metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 65, term: 1))
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 65), entries: [], snapshot: installed)
        #expect(try storage.snapshot() == installed)
    }

    @Test(arguments: [[UInt64(105), 106], [101, 103]])
    func aBatchThatCannotFollowTheSnapshotWritesNothing(_ indexes: [UInt64]) throws {
        let log = MemoryLogStore()
        let snapshots = MemorySnapshotStore()
        let storage = try Storage(log: log, snapshots: snapshots)
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1)])
        let snapshot = Snapshot(data: [1], metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 100, term: 1))
        let error = #expect(throws: StorageError.self) {
            try storage.save(hardState: .empty, entries: indexes.map { Entry(term: 1, index: $0) }, snapshot: snapshot)
        }
        #expect(error?.code == .invalidArgument)
        #expect(try snapshots.list().isEmpty, "the snapshot was written")
        #expect(try storage.lastIndex() == 1)
        // A corrected retry goes through.
        try storage.save(hardState: .empty, entries: [Entry(term: 1, index: 101)], snapshot: snapshot)
        #expect(try storage.lastIndex() == 101)
    }
}
