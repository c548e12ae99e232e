import MultiRaftLog
import RaftStorage
import Testing

/// A batch naming a group more than once: its calls add up in order, as one part.
@Suite("Write batches")
struct WriteBatchTests {
    static func entries(_ indexes: ClosedRange<UInt64>, term: UInt64 = 1) -> [Entry] {
        indexes.map { Entry(term: term, index: $0, data: Array("entry \($0)".utf8)) }
    }

    @Test func callsForTheSameGroupAddUpInOrder() throws {
        let engine = try EngineFixtures.newEngine()
        var batch = WriteBatch()
        batch.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: Self.entries(1...2), for: 5)
        batch.setHardState(.empty, for: 9)
        batch.append(Self.entries(1...1), to: 7)
        batch.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: Self.entries(3...4), for: 5)
        batch.recordSnapshot(SnapshotMetadata(index: 2, term: 1), for: 5)
        batch.compact(5, through: 1)
        batch.compact(5, through: 2)
        // Group 9's only call changes nothing: it is not part of the batch.
        #expect(batch.groupIDs == [5, 7])
        #expect(!batch.isEmpty)
        try engine.write(batch, sync: true)
        let log = engine.log(for: 5)
        #expect(try log.firstIndex() == 3)
        #expect(try log.entries(in: 3..<5) == Self.entries(3...4))
        #expect(try log.hardState() == HardState(term: 1, vote: 1, commit: 3))
        #expect(try log.snapshotMarker().index == 2)
        #expect(try engine.log(for: 7).entries(in: 1..<2) == Self.entries(1...1))
        #expect(try engine.groupIDs() == [5, 7])
    }

    /// Room made ahead changes nothing a batch holds: the same calls, reserved for or not,
    /// write the same groups.
    @Test func reservedRoomChangesNothing() throws {
        let engine = try EngineFixtures.newEngine()
        var batch = WriteBatch()
        batch.reserveCapacity(3)
        #expect(batch.isEmpty)
        for group in UInt64(1)...5 {
            batch.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: Self.entries(1...1), for: group)
        }
        #expect(batch.groupIDs == [1, 2, 3, 4, 5])
        try engine.write(batch, sync: true)
        for group in UInt64(1)...5 {
            #expect(try engine.log(for: group).entries(in: 1..<2) == Self.entries(1...1))
        }
    }

    @Test func batchOfEmptyCallsIsEmpty() throws {
        var batch = WriteBatch()
        batch.setHardState(.empty, for: 1)
        batch.append([], to: 2)
        #expect(batch.isEmpty)
        #expect(batch.groupIDs.isEmpty)
        let engine = try EngineFixtures.newEngine()
        try engine.write(batch, sync: true)
        #expect(try engine.groupIDs().isEmpty)
    }

    @Test func laterCallReplacesASnapshotOfTheSameGroup() throws {
        let engine = try EngineFixtures.newEngine()
        var batch = WriteBatch()
        batch.applySnapshot(SnapshotMetadata(index: 10, term: 2), to: 3)
        batch.applySnapshot(SnapshotMetadata(index: 20, term: 3), to: 3)
        batch.append(Self.entries(21...22, term: 3), to: 3)
        try engine.write(batch, sync: true)
        let log = engine.log(for: 3)
        #expect(try log.snapshotMarker().index == 20)
        #expect(try log.firstIndex() == 21)
        #expect(try log.lastIndex() == 22)
    }

    /// Single entries and arrays of them, for a group named again between other groups, keep
    /// their order; an emptied batch holds nothing and builds the next round.
    @Test func singleEntriesAndArraysMixAndABatchIsReused() throws {
        let engine = try EngineFixtures.newEngine()
        var batch = WriteBatch()
        batch.save(hardState: HardState(term: 1, vote: 1, commit: 1), entry: Self.entries(1...1)[0], for: 4)
        batch.append(Self.entries(1...2), to: 8)
        batch.append(Self.entries(2...3), to: 4)
        batch.append(Self.entries(4...4)[0], to: 4)
        #expect(batch.groupIDs == [4, 8])
        try engine.write(batch, sync: true)
        #expect(try engine.log(for: 4).entries(in: 1..<5) == Self.entries(1...4))
        #expect(try engine.log(for: 4).hardState() == HardState(term: 1, vote: 1, commit: 1))
        #expect(try engine.log(for: 8).entries(in: 1..<3) == Self.entries(1...2))

        batch.removeAll(keepingCapacity: true)
        #expect(batch.isEmpty)
        #expect(batch.groupIDs.isEmpty)
        batch.save(hardState: HardState(term: 1, vote: 1, commit: 3), entry: Self.entries(3...3)[0], for: 8)
        batch.save(hardState: HardState(term: 1, vote: 1, commit: 5), entry: Self.entries(5...5)[0], for: 4)
        try engine.write(batch, sync: true)
        #expect(try engine.log(for: 8).entries(in: 1..<4) == Self.entries(1...3))
        #expect(try engine.log(for: 4).entries(in: 1..<6) == Self.entries(1...5))
        #expect(try engine.log(for: 4).hardState() == HardState(term: 1, vote: 1, commit: 5))
    }

    /// Entries a group already compacted are dropped from its part, and the parts after it
    /// still write their own entries.
    @Test func droppedEntriesLeaveLaterPartsWhole() throws {
        let engine = try EngineFixtures.newEngine()
        var first = WriteBatch()
        first.append(Self.entries(1...3), to: 1)
        try engine.write(first, sync: true)
        try engine.log(for: 1).compact(through: 2)
        var batch = WriteBatch()
        batch.append(Self.entries(1...4, term: 2), to: 1)
        batch.append(Self.entries(1...2), to: 2)
        try engine.write(batch, sync: true)
        let log = engine.log(for: 1)
        #expect(try log.firstIndex() == 3)
        #expect(try log.entries(in: 3..<5) == Self.entries(3...4, term: 2))
        #expect(try engine.log(for: 2).entries(in: 1..<3) == Self.entries(1...2))
    }
}
