import MemoryStore
import RaftStorage
import Testing

/// The behaviours of etcd raft's `raftLog` (its `log_test.go` tables), in our own words.
@Suite("RaftLog")
struct RaftLogTests {
    static let previous = entries([(1, 1), (2, 2), (3, 3)])

    struct ConflictCase: Sendable, CustomTestStringConvertible {
        var incoming: [(UInt64, UInt64)]
        var conflict: UInt64
        var testDescription: String { "\(incoming) -> \(conflict)" }
    }

    @Test(arguments: [
        ConflictCase(incoming: [], conflict: 0),
        ConflictCase(incoming: [(1, 1), (2, 2), (3, 3)], conflict: 0),
        ConflictCase(incoming: [(2, 2), (3, 3)], conflict: 0),
        ConflictCase(incoming: [(3, 3)], conflict: 0),
        ConflictCase(incoming: [(1, 1), (2, 2), (3, 3), (4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(2, 2), (3, 3), (4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(3, 3), (4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(1, 4), (2, 4)], conflict: 1),
        ConflictCase(incoming: [(2, 1), (3, 4), (4, 4)], conflict: 2),
        ConflictCase(incoming: [(3, 1), (4, 2), (5, 4), (6, 4)], conflict: 3),
    ])
    func findConflict(_ c: ConflictCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        #expect(log.findConflict(entries(c.incoming)) == c.conflict)
    }

    @Test(arguments: [
        (UInt64(2), UInt64(4), true), (3, 4, true), (4, 4, true),
        (2, 2, false), (3, 2, false), (4, 2, false),
        (2, 3, false), (3, 3, true), (4, 3, true),
    ])
    func isUpToDate(lastIndex: UInt64, term: UInt64, expected: Bool) throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        #expect(try log.isUpToDate(lastIndex: lastIndex, term: term) == expected)
    }

    struct AppendCase: Sendable, CustomTestStringConvertible {
        var incoming: [(UInt64, UInt64)]
        var lastIndex: UInt64
        var all: [(UInt64, UInt64)]
        var unstableOffset: UInt64
        var testDescription: String { "append \(incoming)" }
    }

    @Test(arguments: [
        AppendCase(incoming: [], lastIndex: 2, all: [(1, 1), (2, 2)], unstableOffset: 3),
        AppendCase(incoming: [(3, 2)], lastIndex: 3, all: [(1, 1), (2, 2), (3, 2)], unstableOffset: 3),
        AppendCase(incoming: [(1, 2)], lastIndex: 1, all: [(1, 2)], unstableOffset: 1),
        AppendCase(incoming: [(2, 3), (3, 3)], lastIndex: 3, all: [(1, 1), (2, 3), (3, 3)], unstableOffset: 2),
    ])
    func appendReplacesFromTheFirstIndex(_ c: AppendCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage(stable: entries([(1, 1), (2, 2)])))
        #expect(try log.append(entries(c.incoming)) == c.lastIndex)
        #expect(try log.entries(from: 1) == entries(c.all))
        #expect(log.unstable.offset == c.unstableOffset)
    }

    struct MaybeAppendCase: Sendable, CustomTestStringConvertible {
        var name: String
        var logTerm: UInt64, index: UInt64, committed: UInt64
        var incoming: [(UInt64, UInt64)]
        var lastNew: UInt64?
        var commit: UInt64
        var fails = false
        var testDescription: String { name }
    }

    // previous = (1,1) (2,2) (3,3); commit 1.
    @Test(arguments: [
        MaybeAppendCase(name: "term differs", logTerm: 2, index: 3, committed: 3, incoming: [(4, 4)], lastNew: nil, commit: 1),
        MaybeAppendCase(name: "index past the log", logTerm: 3, index: 4, committed: 3, incoming: [(5, 4)], lastNew: nil, commit: 1),
        MaybeAppendCase(name: "match at the last entry", logTerm: 3, index: 3, committed: 3, incoming: [], lastNew: 3, commit: 3),
        MaybeAppendCase(name: "commit never past the last new entry", logTerm: 3, index: 3, committed: 4, incoming: [], lastNew: 3, commit: 3),
        MaybeAppendCase(name: "commit up to the leader's", logTerm: 3, index: 3, committed: 2, incoming: [], lastNew: 3, commit: 2),
        MaybeAppendCase(name: "commit never decreases", logTerm: 3, index: 3, committed: 0, incoming: [], lastNew: 3, commit: 1),
        MaybeAppendCase(name: "match at index 0", logTerm: 0, index: 0, committed: 3, incoming: [], lastNew: 0, commit: 1),
        MaybeAppendCase(name: "new entry, commit to leader's", logTerm: 3, index: 3, committed: 3, incoming: [(4, 4)], lastNew: 4, commit: 3),
        MaybeAppendCase(name: "new entry, commit to it", logTerm: 3, index: 3, committed: 4, incoming: [(4, 4)], lastNew: 4, commit: 4),
        MaybeAppendCase(name: "new entry, commit capped", logTerm: 3, index: 3, committed: 5, incoming: [(4, 4)], lastNew: 4, commit: 4),
        MaybeAppendCase(name: "two new entries", logTerm: 3, index: 3, committed: 5, incoming: [(4, 4), (5, 4)], lastNew: 5, commit: 5),
        MaybeAppendCase(name: "match in the middle, conflict at the end", logTerm: 2, index: 2, committed: 3, incoming: [(3, 4)], lastNew: 3, commit: 3),
        MaybeAppendCase(name: "match at the start, conflict after", logTerm: 1, index: 1, committed: 3, incoming: [(2, 4)], lastNew: 2, commit: 2),
        MaybeAppendCase(name: "conflict with a committed entry", logTerm: 0, index: 0, committed: 3, incoming: [(1, 4)], lastNew: nil, commit: 1, fails: true),
        MaybeAppendCase(name: "replace two uncommitted entries", logTerm: 1, index: 1, committed: 3, incoming: [(2, 4), (3, 4)], lastNew: 3, commit: 3),
    ])
    func maybeAppend(_ c: MaybeAppendCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 1)
        if c.fails {
            let error = #expect(throws: StorageError.self) {
                try log.maybeAppend(index: c.index, logTerm: c.logTerm, committed: c.committed, entries: entries(c.incoming))
            }
            #expect(error?.code == .invariantViolation)
            #expect(error?.message.contains("conflict with committed entry") == true)
            #expect(log.committed == 1)
            return
        }
        let lastNew = try log.maybeAppend(index: c.index, logTerm: c.logTerm, committed: c.committed, entries: entries(c.incoming))
        #expect(lastNew == c.lastNew)
        #expect(log.committed == c.commit)
        if lastNew != nil, !c.incoming.isEmpty {
            let last = try log.lastIndex()
            #expect(try log.slice(last - UInt64(c.incoming.count) + 1, last + 1, maxBytes: .max) == entries(c.incoming))
        }
    }

    @Test func compactionKeepsTermsAndUnstableEntries() throws {
        let stable = (UInt64(1)...750).map { Entry(term: $0, index: $0) }
        let storage = try makeStorage(stable: stable)
        var log = try MemoryRaftLog(storage: storage)
        try log.append((UInt64(751)...1000).map { Entry(term: $0, index: $0) })
        #expect(try log.maybeCommit(maxIndex: 1000, term: 1000))
        try log.applied(to: log.committed)
        try storage.compact(through: 500)
        #expect(try log.lastIndex() == 1000)
        for index in UInt64(500)...1000 {
            #expect(try log.term(at: index) == index)
            #expect(log.matchTerm(index, index))
        }
        #expect(log.unstableEntries().count == 250)
        #expect(log.unstableEntries().first?.index == 751)
        try log.append([Entry(term: 1001, index: 1001)])
        #expect(try log.lastIndex() == 1001)
        #expect(try log.entries(from: 1001).count == 1)
    }

    static let applyCases: [(UInt64, [UInt64])] = [(0, [4, 5]), (3, [4, 5]), (4, [5]), (5, [])]

    @Test(arguments: applyCases)
    func nextEntriesToApply(applied: UInt64, expected: [UInt64]) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (3, 1)))
        try log.append(entries([(4, 1), (5, 1), (6, 1)]))
        #expect(try log.maybeCommit(maxIndex: 5, term: 1))
        try log.applied(to: applied)
        #expect(try log.hasNextEntriesToApply() == !expected.isEmpty)
        #expect(try log.nextEntriesToApply().map(\.index) == expected)
    }

    @Test func nextEntriesToApplyHonoursTheSizeLimit() throws {
        var log = try MemoryRaftLog(storage: makeStorage(), maxNextEntriesSize: 0)
        try log.append(entries([(1, 1), (2, 1), (3, 1)]))
        try log.commit(to: 3)
        #expect(try log.nextEntriesToApply().map(\.index) == [1])
        log.maxNextEntriesSize = .max
        #expect(try log.nextEntriesToApply().map(\.index) == [1, 2, 3])
    }

    static let unstableCases: [(UInt64, [UInt64])] = [(3, []), (1, [1, 2])]

    @Test(arguments: unstableCases)
    func unstableEntriesBecomeStable(firstUnstable: UInt64, expected: [UInt64]) throws {
        let all = entries([(1, 1), (2, 2)])
        let storage = try makeStorage(stable: Array(all[..<Int(firstUnstable - 1)]))
        var log = try MemoryRaftLog(storage: storage)
        try log.append(Array(all[Int(firstUnstable - 1)...]))
        let unstable = log.unstableEntries()
        if let last = unstable.last {
            try storage.save(hardState: .empty, entries: unstable)
            log.stable(to: last.index, term: last.term)
        }
        #expect(unstable == expected.map { Entry(term: $0, index: $0) })
        #expect(log.unstable.offset == 3)
    }

    @Test func commitToNeverDecreasesAndNeverPassesTheLastIndex() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 2)
        try log.commit(to: 3)
        #expect(log.committed == 3)
        try log.commit(to: 1)
        #expect(log.committed == 3)
        let error = #expect(throws: StorageError.self) { try log.commit(to: 4) }
        #expect(error?.code == .invariantViolation)
        #expect(error?.message.contains("tocommit(4) is out of range [lastIndex(3)]") == true)
    }

    @Test func appliedStaysBetweenAppliedAndCommitted() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 2)
        try log.applied(to: 2)
        try log.applied(to: 0)
        #expect(log.applied == 2)
        for bad in [UInt64(3), 1] {
            let error = #expect(throws: StorageError.self) { try log.applied(to: bad) }
            #expect(error?.code == .invariantViolation)
        }
        #expect(log.applied == 2)
    }

    @Test func appendingBelowTheCommitIndexIsRefused() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 2)
        let error = #expect(throws: StorageError.self) { try log.append(entries([(2, 5)])) }
        #expect(error?.message.contains("after(1) is out of range [committed(2)]") == true)
        #expect(try log.lastIndex() == 3)
    }

    @Test(arguments: [
        (UInt64(1), UInt64(1), UInt64(2)), (2, 2, 3), (2, 1, 1), (3, 1, 1),
    ])
    func stableTo(index: UInt64, term: UInt64, offset: UInt64) throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(entries([(1, 1), (2, 2)]))
        log.stable(to: index, term: term)
        #expect(log.unstable.offset == offset)
    }

    struct StableWithSnapshotCase: Sendable, CustomTestStringConvertible {
        var index: UInt64, term: UInt64
        var incoming: [(UInt64, UInt64)]
        var offset: UInt64
        var testDescription: String { "stable(to: \(index), term: \(term)) after \(incoming)" }
    }

    // snapshot at (5, 2)
    @Test(arguments: [
        StableWithSnapshotCase(index: 6, term: 2, incoming: [], offset: 6),
        StableWithSnapshotCase(index: 5, term: 2, incoming: [], offset: 6),
        StableWithSnapshotCase(index: 4, term: 2, incoming: [], offset: 6),
        StableWithSnapshotCase(index: 6, term: 3, incoming: [], offset: 6),
        StableWithSnapshotCase(index: 5, term: 3, incoming: [], offset: 6),
        StableWithSnapshotCase(index: 4, term: 3, incoming: [], offset: 6),
        StableWithSnapshotCase(index: 6, term: 2, incoming: [(6, 2)], offset: 7),
        StableWithSnapshotCase(index: 5, term: 2, incoming: [(6, 2)], offset: 6),
        StableWithSnapshotCase(index: 4, term: 2, incoming: [(6, 2)], offset: 6),
        StableWithSnapshotCase(index: 6, term: 3, incoming: [(6, 2)], offset: 6),
        StableWithSnapshotCase(index: 5, term: 3, incoming: [(6, 2)], offset: 6),
        StableWithSnapshotCase(index: 4, term: 3, incoming: [(6, 2)], offset: 6),
    ])
    func stableToAfterASnapshot(_ c: StableWithSnapshotCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (5, 2)))
        try log.append(entries(c.incoming))
        log.stable(to: c.index, term: c.term)
        #expect(log.unstable.offset == c.offset)
    }

    @Test func compactionThroughStorage() throws {
        let storage = try makeStorage(stable: (UInt64(1)...1000).map { Entry(term: $0, index: $0) })
        var log = try MemoryRaftLog(storage: storage)
        try log.maybeCommit(maxIndex: 1000, term: 1000)
        try log.applied(to: log.committed)
        for (compact, left) in [(UInt64(300), 700), (500, 500), (800, 200), (900, 100)] {
            try storage.compact(through: compact)
            #expect(try log.allEntries().count == left)
        }
        let below = #expect(throws: StorageError.self) { try storage.compact(through: 299) }
        #expect(below?.code == .compacted)
        let beyond = #expect(throws: StorageError.self) { try storage.compact(through: 1001) }
        #expect(beyond?.code == .unavailable)
    }

    @Test func startsAtTheStorageSnapshot() throws {
        let log = try MemoryRaftLog(storage: makeStorage(snapshot: (1000, 1000)))
        #expect(try log.allEntries().isEmpty)
        #expect(try log.firstIndex() == 1001)
        #expect(log.committed == 1000)
        #expect(log.applied == 1000)
        #expect(log.unstable.offset == 1001)
        #expect(try log.term(at: 1000) == 1000)
    }

    @Test func restoreFromALeaderSnapshot() throws {
        var log = try MemoryRaftLog(storage: makeStorage(stable: entries([(1, 1), (2, 1)])))
        let snapshot = Snapshot(metadata: SnapshotMetadata(index: 10, term: 3))
        log.restore(snapshot)
        #expect(log.committed == 10)
        #expect(try log.firstIndex() == 11)
        #expect(try log.lastIndex() == 10)
        #expect(try log.term(at: 10) == 3)
        #expect(try log.snapshot() == snapshot)
        log.stableSnapshot(to: 10)
        #expect(log.unstable.snapshot == nil)
    }

    @Test(arguments: [
        (UInt64(98), UInt64(101), StorageError.Code?.some(.compacted)),
        (99, 101, .compacted),
        (101, 101, nil),
        (150, 150, nil),
        (200, 200, nil),
        (201, 201, nil),
        (201, 202, .invariantViolation),
        (202, 202, .invariantViolation),
        (101, 201, nil),
        (102, 101, .invariantViolation),
    ])
    func sliceBounds(lo: UInt64, hi: UInt64, error code: StorageError.Code?) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (100, 1)))
        try log.append((UInt64(101)...200).map { Entry(term: 1, index: $0) })
        if let code {
            let error = #expect(throws: StorageError.self) { try log.slice(lo, hi, maxBytes: .max) }
            #expect(error?.code == code)
        } else {
            #expect(try log.slice(lo, hi, maxBytes: .max).count == Int(hi - lo))
        }
    }

    @Test(arguments: [(UInt64(99), UInt64(0)), (100, 1), (150, 50), (199, 99), (200, 0)])
    func termOutsideTheLogIsZero(index: UInt64, term: UInt64) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (100, 1)))
        try log.append((UInt64(1)..<100).map { Entry(term: $0, index: 100 + $0) })
        #expect(try log.term(at: index) == term)
    }

    @Test(arguments: [(UInt64(100), UInt64(0)), (101, 0), (104, 0), (105, 1)])
    func termWithAnUnstableSnapshot(index: UInt64, term: UInt64) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (100, 1)))
        log.restore(Snapshot(metadata: SnapshotMetadata(index: 105, term: 1)))
        #expect(try log.term(at: index) == term)
    }

    struct SliceCase: Sendable, CustomTestStringConvertible {
        var lo: UInt64, hi: UInt64
        var maxBytes: UInt64
        var expected: [UInt64]?
        var testDescription: String { "slice(\(lo), \(hi), maxBytes: \(maxBytes))" }
    }

    // Stable entries 101...149, unstable 150...199 (index == term); half = 150.
    static let entrySize = UInt64(Entry(term: 150, index: 150).encodedSize)

    @Test(arguments: [
        SliceCase(lo: 99, hi: 101, maxBytes: .max, expected: nil),
        SliceCase(lo: 100, hi: 101, maxBytes: .max, expected: nil),
        SliceCase(lo: 149, hi: 151, maxBytes: .max, expected: [149, 150]),
        SliceCase(lo: 150, hi: 151, maxBytes: .max, expected: [150]),
        SliceCase(lo: 199, hi: 200, maxBytes: .max, expected: [199]),
        SliceCase(lo: 149, hi: 151, maxBytes: 0, expected: [149]),
        SliceCase(lo: 149, hi: 151, maxBytes: entrySize + 1, expected: [149]),
        SliceCase(lo: 148, hi: 151, maxBytes: entrySize + 1, expected: [148]),
        SliceCase(lo: 149, hi: 151, maxBytes: entrySize * 2, expected: [149, 150]),
        SliceCase(lo: 149, hi: 152, maxBytes: entrySize * 3, expected: [149, 150, 151]),
        SliceCase(lo: 150, hi: 152, maxBytes: entrySize, expected: [150]),
        SliceCase(lo: 150, hi: 152, maxBytes: entrySize * 2, expected: [150, 151]),
    ])
    func sliceAcrossStableAndUnstable(_ c: SliceCase) throws {
        let storage = try makeStorage(snapshot: (100, 100), stable: (UInt64(101)..<150).map { Entry(term: $0, index: $0) })
        var log = try MemoryRaftLog(storage: storage)
        try log.append((UInt64(150)..<200).map { Entry(term: $0, index: $0) })
        if let expected = c.expected {
            #expect(try log.slice(c.lo, c.hi, maxBytes: c.maxBytes) == expected.map { Entry(term: $0, index: $0) })
        } else {
            let error = #expect(throws: StorageError.self) { try log.slice(c.lo, c.hi, maxBytes: c.maxBytes) }
            #expect(error?.code == .compacted)
        }
        let beyond = #expect(throws: StorageError.self) { try log.slice(200, 201, maxBytes: .max) }
        #expect(beyond?.code == .invariantViolation)
    }

    @Test func matchTermAndMaybeCommit() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        #expect(log.matchTerm(2, 2))
        #expect(!log.matchTerm(2, 3))
        #expect(!log.matchTerm(9, 3))
        #expect(try !log.maybeCommit(maxIndex: 3, term: 2), "a leader commits only entries of its own term")
        #expect(try log.maybeCommit(maxIndex: 3, term: 3))
        #expect(try !log.maybeCommit(maxIndex: 2, term: 2), "commit never goes back")
        #expect(log.committed == 3)
    }
}
