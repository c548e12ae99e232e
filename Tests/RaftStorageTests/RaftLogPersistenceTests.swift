import MemoryStore
import RaftStorage
import Testing

/// Persisting a raft log through ``Storage`` with asynchronous storage writes: entries are handed
/// out once, acknowledged by (index, term), and a new leader's overwrite makes the old write's
/// acknowledgement stale. Also etcd raft's log tests for `nextUnstableEnts` and
/// `hasNextUnstableEnts`, in our own words.
@Suite("RaftLog persistence")
struct RaftLogPersistenceTests {
    @Test func entriesToPersistAreHandedOutOnce() throws {
        var log = try MemoryRaftLog(storage: makeStorage(stable: entries([(1, 1)])))
        #expect(!log.hasEntriesToPersist)
        #expect(!log.hasUnpersistedEntries)
        try log.append(entries([(2, 1), (3, 1)]))
        #expect(log.hasEntriesToPersist)
        #expect(log.entriesToPersist.map(\.index) == [2, 3])

        let first = log.beginWrite()
        #expect(first.entries.map(\.index) == [2, 3])
        #expect(first.snapshot == nil)
        #expect(!log.hasEntriesToPersist, "in flight: not handed out again")
        #expect(log.hasUnpersistedEntries, "in flight, not yet acknowledged")
        #expect(log.beginWrite().isEmpty)

        try log.append(entries([(4, 1)]))
        #expect(log.beginWrite().entries.map(\.index) == [4])

        // In-flight entries are still read from the unstable part.
        #expect(try log.lastIndex() == 4)
        #expect(try log.entries(from: 1).map(\.index) == [1, 2, 3, 4])
    }

    @Test func twoWritesInFlightAreAcknowledgedInOrder() throws {
        let storage = try makeStorage()
        var log = try MemoryRaftLog(storage: storage)
        try log.append(entries([(1, 1), (2, 1)]))
        let first = log.beginWrite()
        try log.append(entries([(3, 1)]))
        let second = log.beginWrite()

        try storage.save(hardState: HardState(term: 1), entries: first.entries)
        #expect(log.stable(to: 2, term: 1) == .accepted)
        #expect(log.unstable.offset == 3)
        #expect(log.hasUnpersistedEntries)
        #expect(!log.hasEntriesToPersist)

        try storage.save(hardState: .empty, entries: second.entries)
        #expect(log.stable(to: 3, term: 1) == .accepted)
        #expect(!log.hasUnpersistedEntries)
        #expect(try storage.entries(in: 1..<4) == entries([(1, 1), (2, 1), (3, 1)]))
        #expect(try log.allEntries() == entries([(1, 1), (2, 1), (3, 1)]))
    }

    @Test func aLeaderOverwriteMakesTheWriteInFlightStale() throws {
        let storage = try makeStorage(stable: entries([(1, 1)]), hardState: HardState(term: 1, commit: 1))
        var log = try MemoryRaftLog(storage: storage)
        #expect(log.committed == 1)
        #expect(try log.append(entries([(2, 1), (3, 1)]), after: 1, term: 1, committed: 1) == .appended(lastIndex: 3))
        let oldWrite = log.beginWrite()
        #expect(oldWrite.entries.map(\.index) == [2, 3])

        // A new leader (term 2) replaces entry 3 while the old write is under way.
        #expect(try log.append(entries([(3, 2)]), after: 2, term: 1, committed: 1) == .appended(lastIndex: 3))
        #expect(log.unstable.inFlightEnd == 3, "only entry 2 is still in flight")
        let newWrite = log.beginWrite()
        #expect(newWrite.entries == entries([(3, 2)]))

        // The old write lands and is acknowledged: refused, the entry at 3 is not its entry.
        try storage.save(hardState: HardState(term: 2, commit: 1), entries: oldWrite.entries)
        let stale = log.stable(to: 3, term: 1)
        #expect(stale == .refused(.termMismatch(index: 3, acknowledged: 1, current: 2)))
        #expect(try log.term(at: 3) == 2, "the log still answers from the newer unstable entry")
        #expect(log.unstable.offset == 2)

        // The new write replaces the stored entry 3 and completes the log.
        try storage.save(hardState: .empty, entries: newWrite.entries)
        #expect(log.stable(to: 3, term: 2) == .accepted)
        #expect(!log.hasUnpersistedEntries)
        #expect(try storage.term(at: 3) == 2)
        #expect(try log.allEntries() == entries([(1, 1), (2, 1), (3, 2)]))
    }

    @Test func aLeaderSnapshotIsPersistedAndAcknowledged() throws {
        let storage = try makeStorage(stable: entries([(1, 1), (2, 1)]), hardState: HardState(term: 1, commit: 2))
        var log = try MemoryRaftLog(storage: storage)
        let snapshot = Snapshot(data: [9], metadata: SnapshotMetadata(index: 10, term: 3))
        try log.restore(snapshot)
        try log.append(entries([(11, 3)]))
        #expect(log.snapshotToPersist == snapshot)

        let write = log.beginWrite()
        #expect(write.snapshot == snapshot)
        #expect(write.entries == entries([(11, 3)]))
        #expect(log.snapshotToPersist == nil, "in flight")
        #expect(log.hasPendingSnapshot)

        try storage.save(hardState: HardState(term: 3, commit: 10), entries: write.entries, snapshot: write.snapshot)
        #expect(log.stable(to: 11, term: 3) == .accepted)
        #expect(log.stableSnapshot(at: 10, term: 3) == .accepted)
        #expect(!log.hasPendingSnapshot)
        #expect(try log.firstIndex() == 11)
        #expect(try log.lastIndex() == 11)
        #expect(try log.term(at: 10) == 3)
        #expect(try log.snapshot().metadata.marker == SnapshotMarker(index: 10, term: 3))
    }

    @Test func theSynchronousFlowStillWorks() throws {
        let storage = try makeStorage()
        var log = try MemoryRaftLog(storage: storage)
        try log.append(entries([(1, 1), (2, 1), (3, 1)]))
        // Take all unstable entries, save them, acknowledge the last one; no marking.
        let unstable = log.unstable.entries
        try storage.save(hardState: HardState(term: 1, commit: 0), entries: unstable)
        #expect(log.stable(to: 3, term: 1) == .accepted)
        #expect(!log.hasUnpersistedEntries)
        #expect(log.unstable.offset == 4)
        #expect(log.unstable.inFlightEnd == 4)
        try log.commit(to: 3)
        #expect(try log.entriesToApply().map(\.index) == [1, 2, 3])
    }

    @Test func anAcknowledgementOnAnEmptyLogSaysWhy() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        let ack = log.stable(to: 99, term: 7)
        #expect(ack == .refused(.unknownIndex(99)))
        #expect(!ack.isAccepted)
        #expect(log.stableSnapshot(at: 99, term: 7) == .refused(.noPendingSnapshot(99)))
    }
}
