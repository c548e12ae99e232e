import MemoryStore
import RaftStorage
import Testing

/// A ``RaftLog`` opened over storage that already holds state starts where the storage says:
/// committed at the stored HardState's commit, applied at the snapshot.
@Suite("RaftLog restart")
struct RaftLogRestartTests {
    static let stored = (UInt64(1)...10).map { Entry(term: $0 <= 4 ? 1 : 2, index: $0) }

    @Test func anEmptyStorageStartsAtZero() throws {
        let log = try MemoryRaftLog(storage: makeStorage())
        #expect(log.committed == 0)
        #expect(log.applied == 0)
        #expect(log.applying == 0)
        #expect(log.unstable.offset == 1)
        #expect(try log.lastIndex() == 0)
        #expect(!log.hasEntriesToApply())
    }

    @Test func startsAtTheStoredCommit() throws {
        let storage = try makeStorage(stable: Self.stored, hardState: HardState(term: 2, vote: 1, commit: 7))
        var log = try MemoryRaftLog(storage: storage)
        #expect(log.committed == 7)
        #expect(log.applied == 0)
        #expect(log.applying == 0)
        #expect(log.unstable.offset == 11)
        #expect(try log.lastIndex() == 10)
        #expect(try log.lastTerm() == 2)
        #expect(!log.hasUnpersistedEntries)

        // The committed entries are handed to the application without any extra call.
        #expect(log.hasEntriesToApply())
        let batch = try log.beginApplying()
        #expect(batch.map(\.index) == Array(UInt64(1)...7))
        try log.applied(to: 7, bytes: batch.totalEncodedSize)
        #expect(!log.hasEntriesToApply())

        // And the log goes on from there.
        try log.append([Entry(term: 3, index: 11)])
        #expect(try log.commit(to: 11, term: 3))
        #expect(try log.entriesToApply().map(\.index) == [8, 9, 10, 11])
    }

    @Test func startsAtTheSnapshotItWasOpenedAt() throws {
        let storage = try makeStorage(
            snapshot: (5, 2), stable: (UInt64(6)...10).map { Entry(term: 2, index: $0) }, hardState: HardState(term: 2, commit: 8))
        let log = try MemoryRaftLog(storage: storage)
        #expect(log.committed == 8)
        #expect(log.applied == 5, "the application restores the snapshot, then applies after it")
        #expect(log.applying == 5)
        #expect(try log.firstIndex() == 6)
        #expect(try log.term(at: 5) == 2)
        #expect(try log.entriesToApply().map(\.index) == [6, 7, 8])
    }

    /// Storage over memory stores with entries 1...20 all committed and a local snapshot at
    /// 15, compacted through 12 (3 entries kept behind it), reopened as after a restart.
    static func restartedAfterALocalSnapshot() throws -> MemoryStorage {
        let log = MemoryLogStore()
        let snapshots = MemorySnapshotStore()
        try log.append((UInt64(1)...20).map { Entry(term: 1, index: $0) })
        try log.setHardState(HardState(term: 1, commit: 20))
        let options = MemoryStorage.Options(retainedEntries: 3)
        let before = try MemoryStorage(log: log, snapshots: snapshots, options: options)
        try before.createSnapshot(at: 15, data: [7])
        #expect(try before.firstIndex() == 13)
        try before.close()
        return try MemoryStorage(log: log.reopened(), snapshots: snapshots, options: options)
    }

    @Test func startsAtALocalSnapshotWithEntriesKeptBehindIt() throws {
        let storage = try Self.restartedAfterALocalSnapshot()
        #expect(storage.snapshotMetadata.index == 15)
        #expect(try storage.firstIndex() == 13)
        let log = try MemoryRaftLog(storage: storage)
        #expect(log.committed == 20)
        #expect(log.applied == 15, "not the first index - 1: the snapshot holds the state through 15")
        #expect(try log.entriesToApply().map(\.index) == [16, 17, 18, 19, 20])
        #expect(try log.term(at: 13) == 1, "the entries kept behind the snapshot are still readable")
    }

    @Test func anAppliedIndexTheApplicationKeepsIsUsed() throws {
        let storage = try Self.restartedAfterALocalSnapshot()
        let log = try MemoryRaftLog(storage: storage, applied: 18)
        #expect(log.applied == 18)
        #expect(log.applying == 18)
        #expect(try log.entriesToApply().map(\.index) == [19, 20])

        let behind = try MemoryRaftLog(storage: storage, applied: 13)
        #expect(try behind.entriesToApply().map(\.index) == Array(UInt64(14)...20), "entries after the snapshot's are re-read from the log")

        let beyond = #expect(throws: StorageError.self) { try MemoryRaftLog(storage: storage, applied: 21) }
        #expect(beyond?.code == .invariantViolation)
        #expect(beyond?.message.contains("applied (21) must not pass committed (20)") == true)

        let compacted = #expect(throws: StorageError.self) { try MemoryRaftLog(storage: storage, applied: 5) }
        #expect(compacted?.code == .invariantViolation)
        #expect(compacted?.message.contains("applied (5) must not be below firstIndex - 1 (12)") == true)
    }

    @Test func theCommitNeverStartsBelowTheEntriesStillStored() throws {
        // A log compacted past its stored commit: what was compacted was applied.
        let log = MemoryLogStore()
        try log.append(Self.stored)
        try log.setHardState(HardState(term: 2, commit: 3))
        try log.compact(through: 5)
        let raftLog = try MemoryRaftLog(storage: Storage(log: log, snapshots: MemorySnapshotStore()))
        #expect(raftLog.committed == 5)
        #expect(raftLog.applied == 5)
        #expect(try raftLog.entriesToApply().isEmpty)
    }

    @Test func aRestartKeepsWhatWasAcknowledgedAndDropsWhatWasInFlight() throws {
        let storage = try makeStorage()
        var log = try MemoryRaftLog(storage: storage)
        try log.append(entries([(1, 1), (2, 1), (3, 1)]))
        let write = log.beginWrite()
        try storage.save(hardState: HardState(term: 1, commit: 2), entries: Array(write.entries.prefix(2)))
        #expect(log.stable(to: 2, term: 1) == .accepted)
        try log.commit(to: 2)
        try storage.close()

        // Entry 3 was in flight and never saved: after the restart it is not there.
        let reopened = try MemoryStorage(log: storage.log.reopened(), snapshots: storage.snapshots)
        let restarted = try MemoryRaftLog(storage: reopened)
        #expect(try restarted.lastIndex() == 2)
        #expect(restarted.committed == 2)
        #expect(restarted.applied == 0)
        #expect(restarted.unstable.offset == 3)
        #expect(restarted.unstable.inFlightEnd == 3)
        #expect(try restarted.entriesToApply().map(\.index) == [1, 2])
    }
}
