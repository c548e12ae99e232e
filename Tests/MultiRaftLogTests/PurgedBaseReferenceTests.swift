import MultiRaftLog
import RaftStorage
import RaftStorageTesting
import Testing

/// A base record (a purge's rewrite of a group) refers to its group's entries where they lie;
/// reopening replays it, so the files it refers to stay part of the group's history until a
/// newer base record replaces it, even once the group dropped those entries. Found by
/// FuzzEngineBatch: a purge removed such a file after the group installed a snapshot, and the
/// engine no longer opened ("base record refers to bytes that are not there").
@Suite("Purged files and base records")
struct PurgedBaseReferenceTests {
    static func entries(_ indexes: ClosedRange<UInt64>, size: Int) -> [Entry] {
        indexes.map { Entry(term: 1, index: $0, data: [UInt8](repeating: UInt8($0), count: size)) }
    }

    @Test(arguments: ["applySnapshot", "compact"])
    func groupThatDroppedReferredEntriesStillOpens(drop: String) throws {
        let engine = try EngineFixtures.newEngine(fileSize: 1024)
        var batch = WriteBatch()
        batch.append(Self.entries(1...3, size: 44), to: 1)
        batch.append(Self.entries(1...3, size: 56), to: 2)
        batch.append(Self.entries(1...4, size: 60), to: 3)
        try engine.write(batch, sync: true)
        batch = WriteBatch()
        batch.append(Self.entries(3...5, size: 56), to: 2)
        batch.append(Self.entries(3...6, size: 60), to: 3)
        try engine.write(batch, sync: false)
        // Rewrites the groups pinning the first file: group 3's base record refers to its
        // entries 3...6 where they lie.
        #expect(try engine.purge(budget: 1968).groupsRewritten.contains(3))
        batch = WriteBatch()
        if drop == "applySnapshot" {
            batch.applySnapshot(SnapshotMetadata(confState: ConfState(voters: [1]), index: 7, term: 2), to: 3)
        } else {
            batch.setHardState(HardState(term: 1, vote: 1, commit: 6), for: 3)
            batch.compact(3, through: 6)
        }
        try engine.write(batch, sync: false)
        // Group 3 holds no entry now, but its base record is still what rebuilds it.
        try engine.purge(budget: 856)
        let groups: [UInt64] = [1, 2, 3]
        let before = try groups.map { group in
            let log = engine.log(for: group)
            return (try log.firstIndex(), try log.lastIndex(), try log.snapshotMarker())
        }
        try engine.close()

        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        defer { try? reopened.close() }
        for (group, (first, last, marker)) in zip(groups, before) {
            let log = reopened.log(for: group)
            #expect(try log.firstIndex() == first, "group \(group)")
            #expect(try log.lastIndex() == last, "group \(group)")
            #expect(try log.snapshotMarker() == marker, "group \(group)")
        }
        let kept: [Entry] = Self.entries(1...2, size: 56) + Self.entries(3...5, size: 56)
        #expect(try reopened.log(for: 2).entries(in: 1..<6) == kept)
    }
}
