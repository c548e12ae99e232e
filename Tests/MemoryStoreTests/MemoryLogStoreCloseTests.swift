import MemoryStore
import RaftStorage
import RaftStorageTesting
import Testing

/// `MemoryLogStore.close()` ends the store as the `LogStore` protocol says, and `reopened()`
/// continues with what it held, as a restart of a durable store would.
@Suite("MemoryLogStore close and reopened()")
struct MemoryLogStoreCloseTests {
    @Test("after close every call but close throws closed; closing again does nothing")
    func callsAfterClose() throws {
        let log = MemoryLogStore()
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: makeEntries(1...3, term: 1))
        try log.close()
        let calls: [(String, (MemoryLogStore) throws -> Void)] = [
            ("firstIndex", { _ = try $0.firstIndex() }),
            ("lastIndex", { _ = try $0.lastIndex() }),
            ("term(at:)", { _ = try $0.term(at: 1) }),
            ("entries(in:maxBytes:)", { _ = try $0.entries(in: 1..<2, maxBytes: .max) }),
            ("hardState", { _ = try $0.hardState() }),
            ("snapshotMarker", { _ = try $0.snapshotMarker() }),
            ("snapshotMarkers", { _ = try $0.snapshotMarkers() }),
            ("snapshot", { _ = try $0.snapshot() }),
            ("initialState", { _ = try $0.initialState() }),
            ("save", { try $0.save(hardState: HardState(term: 1, vote: 1, commit: 4), entries: makeEntries(4...4, term: 1)) }),
            ("append", { try $0.append(makeEntries(4...4, term: 1)) }),
            ("setHardState", { try $0.setHardState(HardState(term: 2, vote: 0, commit: 3)) }),
            ("applySnapshot(metadata)", { try $0.applySnapshot(SnapshotMetadata(index: 10, term: 2)) }),
            ("applySnapshot(snapshot)", { try $0.applySnapshot(Snapshot(data: [1], metadata: SnapshotMetadata(index: 10, term: 2))) }),
            ("createSnapshot", { _ = try $0.createSnapshot(at: 2, confState: nil, data: nil) }),
            ("recordSnapshot", { try $0.recordSnapshot(SnapshotMetadata(index: 2, term: 1)) }),
            ("compact", { try $0.compact(through: 2) }),
            ("sync", { try $0.sync() }),
            ("resume", { try $0.resume(from: .zero) }),
        ]
        for (name, call) in calls {
            do {
                try call(log)
                Issue.record("\(name) succeeded on a closed store")
            } catch let error as StorageError {
                #expect(error.code == .closed, "\(name): \(error)")
            } catch {
                Issue.record("\(name) threw \(error), not a StorageError")
            }
        }
        try log.close()
        // Nothing was written after close: the copy holds what the store held when it closed.
        let reopened = log.reopened()
        #expect(try reopened.hardState() == HardState(term: 1, vote: 1, commit: 2))
        #expect(try reopened.entries(from: 1) == makeEntries(1...3, term: 1))
        #expect(try reopened.snapshotMarker() == .zero)
    }

    @Test("reopened() holds the entries, HardState and snapshot of a closed store, and is open")
    func reopenedKeepsTheContents() throws {
        let log = MemoryLogStore()
        let snapshot = Snapshot(data: [9], metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 5, term: 2))
        try log.applySnapshot(snapshot)
        try log.save(hardState: HardState(term: 3, vote: 1, commit: 7), entries: makeEntries(6...8, term: 3))
        try log.close()

        let reopened = log.reopened()
        #expect(try reopened.firstIndex() == 6)
        #expect(try reopened.lastIndex() == 8)
        #expect(try reopened.term(at: 5) == 2)
        #expect(try reopened.entries(from: 6) == makeEntries(6...8, term: 3))
        #expect(try reopened.hardState() == HardState(term: 3, vote: 1, commit: 7))
        #expect(try reopened.snapshot() == snapshot)
        // The same struct `Storage.initialState()` returns.
        let initial: InitialState = try reopened.initialState()
        #expect(initial == InitialState(hardState: HardState(term: 3, vote: 1, commit: 7), confState: ConfState(voters: [1, 2])))
        #expect(try reopened.snapshotMarkers() == [SnapshotMarker(index: 5, term: 2)])
        try reopened.append(makeEntries(9...9, term: 3))
        #expect(try reopened.lastIndex() == 9)
        #expect(throws: StorageError.self) { try log.lastIndex() }
    }

    @Test("reopened() copies the state: later writes to either store do not show in the other")
    func reopenedCopies() throws {
        let log = MemoryLogStore()
        try log.append(makeEntries(1...3, term: 1))
        let copy = log.reopened()
        try copy.append(makeEntries(4...5, term: 1))
        try log.save(hardState: HardState(term: 2, vote: 1, commit: 3), entries: makeEntries(3...3, term: 2))
        #expect(try log.lastIndex() == 3)
        #expect(try log.term(at: 3) == 2)
        #expect(try copy.lastIndex() == 5)
        #expect(try copy.term(at: 3) == 1)
        #expect(try copy.hardState() == .empty)
    }

    @Test("a Storage over memory stores restarts over reopened()")
    func storageRestart() throws {
        let snapshots = MemorySnapshotStore()
        let storage = try Storage(log: MemoryLogStore(), snapshots: snapshots)
        try storage.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: makeEntries(1...4, term: 1))
        try storage.createSnapshot(at: 3, confState: ConfState(voters: [1]), data: [3])
        try storage.close()
        #expect(throws: StorageError.self) { try storage.lastIndex() }

        let restarted = try Storage(log: storage.log.reopened(), snapshots: snapshots)
        #expect(try restarted.initialState() == .init(hardState: HardState(term: 1, vote: 1, commit: 3), confState: ConfState(voters: [1])))
        #expect(try restarted.lastIndex() == 4)
        #expect(try restarted.snapshot().data == [3])
        try restarted.close()
    }
}
