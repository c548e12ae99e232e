import MemoryStore
import RaftStorage
import Testing

/// The behaviours of etcd raft's `raftLog` unit tests, in our own words.
@Suite("RaftLog")
struct RaftLogTests {
    static let previous = entries([(1, 1), (2, 2), (3, 3)])

    struct ConflictCase: Sendable, CustomTestStringConvertible {
        var incoming: [(UInt64, UInt64)]
        var conflict: UInt64?
        var testDescription: String { "\(incoming) -> \(String(describing: conflict))" }
    }

    @Test(arguments: [
        ConflictCase(incoming: [], conflict: nil),
        ConflictCase(incoming: [(1, 1), (2, 2), (3, 3)], conflict: nil),
        ConflictCase(incoming: [(2, 2), (3, 3)], conflict: nil),
        ConflictCase(incoming: [(3, 3)], conflict: nil),
        ConflictCase(incoming: [(1, 1), (2, 2), (3, 3), (4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(2, 2), (3, 3), (4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(3, 3), (4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(4, 4), (5, 4)], conflict: 4),
        ConflictCase(incoming: [(1, 4), (2, 4)], conflict: 1),
        ConflictCase(incoming: [(2, 1), (3, 4), (4, 4)], conflict: 2),
        ConflictCase(incoming: [(3, 1), (4, 2), (5, 4), (6, 4)], conflict: 3),
    ])
    func firstConflict(_ c: ConflictCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        #expect(log.firstConflict(in: entries(c.incoming)) == c.conflict)
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

    struct LeaderAppendCase: Sendable, CustomTestStringConvertible {
        var name: String
        var logTerm: UInt64, index: UInt64, committed: UInt64
        var incoming: [(UInt64, UInt64)]
        /// The last new index, or `nil` for a mismatch.
        var lastNew: UInt64?
        var commit: UInt64
        var fails = false
        var testDescription: String { name }
    }

    // previous = (1,1) (2,2) (3,3); commit 1.
    @Test(arguments: [
        LeaderAppendCase(name: "term differs", logTerm: 2, index: 3, committed: 3, incoming: [(4, 4)], lastNew: nil, commit: 1),
        LeaderAppendCase(name: "index past the log", logTerm: 3, index: 4, committed: 3, incoming: [(5, 4)], lastNew: nil, commit: 1),
        LeaderAppendCase(name: "match at the last entry", logTerm: 3, index: 3, committed: 3, incoming: [], lastNew: 3, commit: 3),
        LeaderAppendCase(name: "commit never past the last new entry", logTerm: 3, index: 3, committed: 4, incoming: [], lastNew: 3, commit: 3),
        LeaderAppendCase(name: "commit up to the leader's", logTerm: 3, index: 3, committed: 2, incoming: [], lastNew: 3, commit: 2),
        LeaderAppendCase(name: "commit never decreases", logTerm: 3, index: 3, committed: 0, incoming: [], lastNew: 3, commit: 1),
        LeaderAppendCase(name: "match at index 0", logTerm: 0, index: 0, committed: 3, incoming: [], lastNew: 0, commit: 1),
        LeaderAppendCase(name: "new entry, commit to leader's", logTerm: 3, index: 3, committed: 3, incoming: [(4, 4)], lastNew: 4, commit: 3),
        LeaderAppendCase(name: "new entry, commit to it", logTerm: 3, index: 3, committed: 4, incoming: [(4, 4)], lastNew: 4, commit: 4),
        LeaderAppendCase(name: "new entry, commit capped", logTerm: 3, index: 3, committed: 5, incoming: [(4, 4)], lastNew: 4, commit: 4),
        LeaderAppendCase(name: "two new entries", logTerm: 3, index: 3, committed: 5, incoming: [(4, 4), (5, 4)], lastNew: 5, commit: 5),
        LeaderAppendCase(name: "match in the middle, conflict at the end", logTerm: 2, index: 2, committed: 3, incoming: [(3, 4)], lastNew: 3, commit: 3),
        LeaderAppendCase(name: "match at the start, conflict after", logTerm: 1, index: 1, committed: 3, incoming: [(2, 4)], lastNew: 2, commit: 2),
        LeaderAppendCase(name: "conflict with a committed entry", logTerm: 0, index: 0, committed: 3, incoming: [(1, 4)], lastNew: nil, commit: 1, fails: true),
        LeaderAppendCase(name: "replace two uncommitted entries", logTerm: 1, index: 1, committed: 3, incoming: [(2, 4), (3, 4)], lastNew: 3, commit: 3),
    ])
    func appendFromALeader(_ c: LeaderAppendCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 1)
        if c.fails {
            let error = #expect(throws: StorageError.self) {
                try log.append(entries(c.incoming), after: c.index, term: c.logTerm, committed: c.committed)
            }
            #expect(error?.code == .invariantViolation)
            #expect(error?.message.contains("conflicting entry (1) must be above committed (1)") == true)
            #expect(log.committed == 1)
            #expect(try log.allEntries() == Self.previous)
            return
        }
        let result = try log.append(entries(c.incoming), after: c.index, term: c.logTerm, committed: c.committed)
        let expected: MemoryRaftLog.AppendResult
        if let lastNew = c.lastNew {
            expected = .appended(lastIndex: lastNew)
        } else {
            expected = .mismatch
        }
        #expect(result == expected)
        #expect(log.committed == c.commit)
        if case .appended = result, !c.incoming.isEmpty {
            let last = try log.lastIndex()
            #expect(try log.entries(in: (last - UInt64(c.incoming.count) + 1)..<(last + 1)) == entries(c.incoming))
        }
        if result == .mismatch {
            #expect(try log.allEntries() == Self.previous)
        }
    }

    @Test func appendFromALeaderRefusesEntriesThatDoNotFollowThePreviousIndex() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        for bad in [[(3, 4)], [(4, 4), (6, 4)]] as [[(UInt64, UInt64)]] {
            let error = #expect(throws: StorageError.self) {
                try log.append(entries(bad), after: 3, term: 3, committed: 3)
            }
            #expect(error?.code == .invariantViolation)
            #expect(error?.message.contains("must be contiguous from index 4") == true)
        }
        #expect(try log.allEntries() == Self.previous)
        #expect(log.committed == 0)
    }

    @Test func compactionKeepsTermsAndUnstableEntries() throws {
        let stable = (UInt64(1)...750).map { Entry(term: $0, index: $0) }
        let storage = try makeStorage(stable: stable)
        var log = try MemoryRaftLog(storage: storage)
        try log.append((UInt64(751)...1000).map { Entry(term: $0, index: $0) })
        #expect(try log.commit(to: 1000, term: 1000))
        try log.applied(to: log.committed)
        try storage.compact(through: 500)
        #expect(try log.lastIndex() == 1000)
        for index in UInt64(500)...1000 {
            #expect(try log.term(at: index) == index)
            #expect(log.hasEntry(at: index, term: index))
        }
        #expect(log.entriesToPersist.count == 250)
        #expect(log.entriesToPersist.first?.index == 751)
        try log.append([Entry(term: 1001, index: 1001)])
        #expect(try log.lastIndex() == 1001)
        #expect(try log.entries(from: 1001).count == 1)
    }

    static let applyCases: [(UInt64, [UInt64])] = [(0, [4, 5]), (3, [4, 5]), (4, [5]), (5, [])]

    @Test(arguments: applyCases)
    func entriesToApply(applied: UInt64, expected: [UInt64]) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (3, 1)))
        try log.append(entries([(4, 1), (5, 1), (6, 1)]))
        #expect(try log.commit(to: 5, term: 1))
        try log.applied(to: applied)
        #expect(log.hasEntriesToApply() == !expected.isEmpty)
        #expect(try log.entriesToApply().map(\.index) == expected)
    }

    @Test func entriesToApplyHonoursTheSizeLimit() throws {
        var log = try MemoryRaftLog(storage: makeStorage(), maxApplyingBytes: 0)
        try log.append(entries([(1, 1), (2, 1), (3, 1)]))
        try log.commit(to: 3)
        #expect(try log.entriesToApply().map(\.index) == [1])
        log.maxApplyingBytes = .max
        #expect(try log.entriesToApply().map(\.index) == [1, 2, 3])
    }

    static let unstableCases: [(UInt64, [UInt64])] = [(3, []), (1, [1, 2])]

    @Test(arguments: unstableCases)
    func unstableEntriesBecomeStable(firstUnstable: UInt64, expected: [UInt64]) throws {
        let all = entries([(1, 1), (2, 2)])
        let storage = try makeStorage(stable: Array(all[..<Int(firstUnstable - 1)]))
        var log = try MemoryRaftLog(storage: storage)
        try log.append(Array(all[Int(firstUnstable - 1)...]))
        let unstable = log.entriesToPersist
        if let last = unstable.last {
            try storage.save(hardState: .empty, entries: unstable)
            #expect(log.stable(to: last.index, term: last.term) == .accepted)
        }
        #expect(unstable == expected.map { Entry(term: $0, index: $0) })
        #expect(log.unstable.offset == 3)
        #expect(!log.hasUnpersistedEntries)
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
        #expect(error?.message.contains("committed (4) must not pass lastIndex (3)") == true)
        #expect(log.committed == 3)
    }

    @Test func appliedStaysBetweenAppliedAndCommitted() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 2)
        try log.applied(to: 2)
        try log.applied(to: 0)
        #expect(log.applied == 2)
        let beyond = #expect(throws: StorageError.self) { try log.applied(to: 3) }
        #expect(beyond?.code == .invariantViolation)
        #expect(beyond?.message.contains("applied (3) must not pass committed (2)") == true)
        let behind = #expect(throws: StorageError.self) { try log.applied(to: 1) }
        #expect(behind?.code == .invariantViolation)
        #expect(behind?.message.contains("applied (1) must not go below the previous applied (2)") == true)
        #expect(log.applied == 2)
    }

    @Test func appendingBelowTheCommitIndexIsRefused() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 2)
        let error = #expect(throws: StorageError.self) { try log.append(entries([(2, 5)])) }
        #expect(error?.code == .invariantViolation)
        #expect(error?.message.contains("first appended index (2) must be above committed (2)") == true)
        #expect(try log.lastIndex() == 3)
    }

    struct StableCase: Sendable, CustomTestStringConvertible {
        var index: UInt64, term: UInt64
        var offset: UInt64
        var acknowledgement: Unstable.Acknowledgement
        var testDescription: String { "stable(to: \(index), term: \(term))" }
    }

    // unstable (1, 1) (2, 2)
    @Test(arguments: [
        StableCase(index: 1, term: 1, offset: 2, acknowledgement: .accepted),
        StableCase(index: 2, term: 2, offset: 3, acknowledgement: .accepted),
        StableCase(index: 2, term: 1, offset: 1, acknowledgement: .refused(.termMismatch(index: 2, acknowledged: 1, current: 2))),
        StableCase(index: 3, term: 1, offset: 1, acknowledgement: .refused(.unknownIndex(3))),
    ])
    func stableTo(_ c: StableCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(entries([(1, 1), (2, 2)]))
        #expect(log.stable(to: c.index, term: c.term) == c.acknowledgement)
        #expect(log.unstable.offset == c.offset)
    }

    struct StableWithSnapshotCase: Sendable, CustomTestStringConvertible {
        var index: UInt64, term: UInt64
        var incoming: [(UInt64, UInt64)]
        var offset: UInt64
        var acknowledgement: Unstable.Acknowledgement
        var testDescription: String { "stable(to: \(index), term: \(term)) after \(incoming)" }
    }

    // snapshot at (5, 2), in storage: indexes at or below 5 are already stable.
    @Test(arguments: [
        StableWithSnapshotCase(index: 6, term: 2, incoming: [], offset: 6, acknowledgement: .refused(.unknownIndex(6))),
        StableWithSnapshotCase(index: 5, term: 2, incoming: [], offset: 6, acknowledgement: .refused(.alreadyStable(5))),
        StableWithSnapshotCase(index: 4, term: 2, incoming: [], offset: 6, acknowledgement: .refused(.alreadyStable(4))),
        StableWithSnapshotCase(index: 6, term: 3, incoming: [], offset: 6, acknowledgement: .refused(.unknownIndex(6))),
        StableWithSnapshotCase(index: 5, term: 3, incoming: [], offset: 6, acknowledgement: .refused(.alreadyStable(5))),
        StableWithSnapshotCase(index: 4, term: 3, incoming: [], offset: 6, acknowledgement: .refused(.alreadyStable(4))),
        StableWithSnapshotCase(index: 6, term: 2, incoming: [(6, 2)], offset: 7, acknowledgement: .accepted),
        StableWithSnapshotCase(index: 5, term: 2, incoming: [(6, 2)], offset: 6, acknowledgement: .refused(.alreadyStable(5))),
        StableWithSnapshotCase(index: 4, term: 2, incoming: [(6, 2)], offset: 6, acknowledgement: .refused(.alreadyStable(4))),
        StableWithSnapshotCase(
            index: 6, term: 3, incoming: [(6, 2)], offset: 6,
            acknowledgement: .refused(.termMismatch(index: 6, acknowledged: 3, current: 2))),
        StableWithSnapshotCase(index: 5, term: 3, incoming: [(6, 2)], offset: 6, acknowledgement: .refused(.alreadyStable(5))),
        StableWithSnapshotCase(index: 4, term: 3, incoming: [(6, 2)], offset: 6, acknowledgement: .refused(.alreadyStable(4))),
    ])
    func stableToAfterASnapshot(_ c: StableWithSnapshotCase) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (5, 2)))
        try log.append(entries(c.incoming))
        #expect(log.stable(to: c.index, term: c.term) == c.acknowledgement)
        #expect(log.unstable.offset == c.offset)
    }

    @Test func compactionThroughStorage() throws {
        let storage = try makeStorage(stable: (UInt64(1)...1000).map { Entry(term: $0, index: $0) })
        var log = try MemoryRaftLog(storage: storage)
        try log.commit(to: 1000, term: 1000)
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
        try log.restore(snapshot)
        #expect(log.committed == 10)
        #expect(try log.firstIndex() == 11)
        #expect(try log.lastIndex() == 10)
        #expect(try log.term(at: 10) == 3)
        #expect(try log.snapshot() == snapshot)
        #expect(log.hasPendingSnapshot)
        #expect(log.snapshotToPersist == snapshot)
        #expect(log.stableSnapshot(at: 10, term: 3) == .accepted)
        #expect(log.unstable.snapshot == nil)
        #expect(!log.hasPendingSnapshot)
    }

    @Test func restoreNeverMovesTheCommitIndexBack() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        try log.commit(to: 3)
        let error = #expect(throws: StorageError.self) {
            try log.restore(Snapshot(metadata: SnapshotMetadata(index: 2, term: 2)))
        }
        #expect(error?.code == .invariantViolation)
        #expect(error?.message.contains("snapshot index (2) must not go below committed (3)") == true)
        #expect(log.unstable.snapshot == nil)
        #expect(try log.allEntries() == Self.previous)
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
    ])
    func entriesInRangeBounds(lo: UInt64, hi: UInt64, error code: StorageError.Code?) throws {
        var log = try MemoryRaftLog(storage: makeStorage(snapshot: (100, 1)))
        try log.append((UInt64(101)...200).map { Entry(term: 1, index: $0) })
        if let code {
            let error = #expect(throws: StorageError.self) { try log.entries(in: lo..<hi, maxBytes: .max) }
            #expect(error?.code == code)
        } else {
            #expect(try log.entries(in: lo..<hi, maxBytes: .max).count == Int(hi - lo))
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
        try log.restore(Snapshot(metadata: SnapshotMetadata(index: 105, term: 1)))
        #expect(try log.term(at: index) == term)
    }

    struct SliceCase: Sendable, CustomTestStringConvertible {
        var lo: UInt64, hi: UInt64
        var maxBytes: UInt64
        var expected: [UInt64]?
        var testDescription: String { "entries(in: \(lo)..<\(hi), maxBytes: \(maxBytes))" }
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
            #expect(try log.entries(in: c.lo..<c.hi, maxBytes: c.maxBytes) == expected.map { Entry(term: $0, index: $0) })
        } else {
            let error = #expect(throws: StorageError.self) { try log.entries(in: c.lo..<c.hi, maxBytes: c.maxBytes) }
            #expect(error?.code == .compacted)
        }
        let beyond = #expect(throws: StorageError.self) { try log.entries(in: 200..<201, maxBytes: .max) }
        #expect(beyond?.code == .invariantViolation)
        #expect(beyond?.message.contains("entries [200, 201) must not pass lastIndex (199)") == true)
    }

    @Test func hasEntryAndCommitWithTerm() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        #expect(log.hasEntry(at: 2, term: 2))
        #expect(!log.hasEntry(at: 2, term: 3))
        #expect(!log.hasEntry(at: 9, term: 3))
        #expect(try !log.commit(to: 3, term: 2), "a leader commits only entries of its own term")
        #expect(try !log.commit(to: 3, term: 0), "term 0 never matches")
        #expect(try log.commit(to: 3, term: 3))
        #expect(try !log.commit(to: 2, term: 2), "commit never goes back")
        #expect(log.committed == 3)
    }

    @Test func appendingWithAGapIsRefused() throws {
        var log = try MemoryRaftLog(storage: makeStorage())
        try log.append(Self.previous)
        let error = #expect(throws: StorageError.self) { try log.append(entries([(5, 3)])) }
        #expect(error?.code == .invariantViolation)
        #expect(error?.message.contains("first appended index (5) must not pass lastIndex + 1 (4)") == true)
        #expect(try log.lastIndex() == 3)
    }
}
