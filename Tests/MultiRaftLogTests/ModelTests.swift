import MemoryStore
import MultiRaftLog
import RaftStorage
import RaftStorageTesting
import Testing

/// Several groups write interleaved batches; after every batch, across purges and across
/// restarts, each group's view must read exactly like a `MemoryLogStore` that was given the
/// same calls.
@Suite("Engine against per-group models")
struct ModelTests {
    static let groups: [UInt64] = [1, 2, 3, 4, 5]

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func interleavedBatchesMatchModels(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var engine = try EngineFixtures.newEngine(fileSize: 16 * 1024)
        var models: [UInt64: MemoryLogStore] = [:]
        for group in Self.groups { models[group] = MemoryLogStore() }
        var filesRemoved = 0
        var groupsRewritten = 0
        for step in 0..<300 {
            var batch = WriteBatch()
            for group in Self.groups where random.next() % 3 == 0 {
                guard let model = models[group] else { continue }
                try Self.addRandomPart(for: group, model: model, to: &batch, random: &random)
            }
            try engine.write(batch, sync: random.next() % 2 == 0)
            let checked = Self.groups[Int(random.next() % UInt64(Self.groups.count))]
            try Self.expectSame(engine.log(for: checked), models[checked], "step \(step), group \(checked)")
            if step % 25 == 24 {
                // Rewrites lagging groups and removes old files; the next reopen replays what is left.
                let report = try engine.purge(budget: Int(random.next() % 20_000))
                filesRemoved += report.filesRemoved.count
                groupsRewritten += report.groupsRewritten.count
                for group in Self.groups { try Self.expectSame(engine.log(for: group), models[group], "after purge at step \(step), group \(group)") }
            }
            if step % 60 == 59 {
                try engine.close()
                engine = try LogEngine(directory: engine.directory, options: engine.options)
                for group in Self.groups { try Self.expectSame(engine.log(for: group), models[group], "after reopen at step \(step), group \(group)") }
            }
        }
        #expect(try engine.groupIDs().count > 1)
        // The workload spans many files, and purges rewrote groups and removed files.
        #expect(filesRemoved > 5, "files removed: \(filesRemoved)")
        #expect(groupsRewritten > 5, "groups rewritten: \(groupsRewritten)")
    }

    /// Adds one valid random step for `group` to `batch`, and gives the model the same calls.
    static func addRandomPart(for group: UInt64, model: MemoryLogStore, to batch: inout WriteBatch, random: inout SeededGenerator) throws {
        let first = try model.firstIndex()
        let last = try model.lastIndex()
        let stored = try model.hardState()
        let marker = try model.snapshotMarker()
        let lastTerm = try model.term(at: last)
        let roll = random.next() % 100
        if roll < 55 || last < first {
            // Entries, sometimes replacing a short tail, with a HardState half of the time.
            let start = max(first, last >= 3 ? last - 2 : 1) + random.next() % 3
            let from = min(start, last + 1)
            let count = 1 + random.next() % 5
            let term = max(stored.term, lastTerm, 1) + (random.next() % 4 == 0 ? 1 : 0)
            let entries = (from..<(from + count)).map { index in
                Entry(term: term, index: index, data: random.next() % 5 == 0 ? nil : Self.payload(index, group, &random))
            }
            var hardState = HardState.empty
            if random.next() % 2 == 0 {
                let vote = term == stored.term && stored.vote != 0 ? stored.vote : 1 + random.next() % 3
                hardState = HardState(term: term, vote: vote, commit: random.next() % (from + count))
            }
            batch.save(hardState: hardState, entries: entries, for: group)
            try model.save(hardState: hardState, entries: entries)
        } else if roll < 65 {
            let hardState = HardState(term: max(stored.term, 1), vote: stored.vote, commit: random.next() % (last + 1))
            batch.setHardState(hardState, for: group)
            try model.save(hardState: hardState, entries: [])
        } else if roll < 75 {
            let index = first + random.next() % (last - first + 1)
            batch.compact(group, through: index)
            try model.compact(through: index)
        } else if roll < 88 {
            guard last > marker.index, last >= first else { return }
            let low = max(first, marker.index + 1)
            let index = low + random.next() % (last - low + 1)
            let metadata = SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: index, term: try model.term(at: index))
            batch.recordSnapshot(metadata, for: group)
            try model.recordSnapshot(metadata)
            if random.next() % 2 == 0 {
                batch.compact(group, through: index)
                try model.compact(through: index)
            }
        } else {
            let metadata = SnapshotMetadata(
                confState: ConfState(voters: [1, 2], learners: [4]), index: max(last, marker.index) + 1 + random.next() % 5, term: max(lastTerm, stored.term, 1))
            batch.applySnapshot(metadata, to: group)
            try model.applySnapshot(metadata)
        }
    }

    static func payload(_ index: UInt64, _ group: UInt64, _ random: inout SeededGenerator) -> [UInt8] {
        let count = Int(random.next() % 300)
        return (0..<count).map { UInt8(truncatingIfNeeded: index &* 31 &+ group &+ UInt64($0)) }
    }

    /// Records an issue for each read where the engine's view and the model differ.
    static func expectSame(_ log: GroupLog, _ model: MemoryLogStore?, _ label: String) throws {
        guard let model else { return }
        let first = try model.firstIndex()
        let last = try model.lastIndex()
        #expect(try log.firstIndex() == first, "\(label): firstIndex")
        #expect(try log.lastIndex() == last, "\(label): lastIndex")
        #expect(try log.hardState() == model.hardState(), "\(label): hardState")
        #expect(try log.snapshotMarker().matches(model.snapshotMarker()), "\(label): snapshotMarker")
        #expect(try log.term(at: first - 1) == model.term(at: first - 1), "\(label): boundary term")
        if first <= last {
            #expect(try log.entries(in: first..<(last + 1)) == model.entries(in: first..<(last + 1)), "\(label): entries")
            let limit = UInt64(random: 1...600)
            #expect(try log.entries(in: first..<(last + 1), maxBytes: limit) == model.entries(in: first..<(last + 1), maxBytes: limit), "\(label): entries within \(limit) bytes")
        }
    }
}

extension UInt64 {
    /// A value in `range` from the system generator (size limits need no replay).
    init(random range: ClosedRange<UInt64>) {
        self = UInt64.random(in: range)
    }
}
