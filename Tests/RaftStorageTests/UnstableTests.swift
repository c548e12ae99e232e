import RaftStorage
import Testing

/// The behaviours of etcd raft's `unstable` unit tests, in our own
/// words: entries are (index, term) pairs.
@Suite("Unstable")
struct UnstableTests {
    static func entries(_ pairs: [(UInt64, UInt64)]) -> [Entry] { pairs.map { Entry(term: $0.1, index: $0.0) } }
    static func snap(_ index: UInt64, _ term: UInt64) -> Snapshot { Snapshot(metadata: SnapshotMetadata(index: index, term: term)) }

    @Test func firstIndexIsKnownOnlyWithASnapshot() {
        #expect(Unstable(entries: Self.entries([(5, 1)]), offset: 5).firstIndex == nil)
        #expect(Unstable(offset: 0).firstIndex == nil)
        #expect(Unstable(snapshot: Self.snap(4, 1), entries: Self.entries([(5, 1)]), offset: 5).firstIndex == 5)
        #expect(Unstable(snapshot: Self.snap(4, 1), offset: 5).firstIndex == 5)
    }

    @Test func lastIndexComesFromEntriesThenSnapshot() {
        #expect(Unstable(entries: Self.entries([(5, 1)]), offset: 5).lastIndex == 5)
        #expect(Unstable(snapshot: Self.snap(4, 1), entries: Self.entries([(5, 1)]), offset: 5).lastIndex == 5)
        #expect(Unstable(snapshot: Self.snap(4, 1), offset: 5).lastIndex == 4)
        #expect(Unstable(offset: 0).lastIndex == nil)
    }

    struct TermCase: Sendable, CustomTestStringConvertible {
        var entries: [(UInt64, UInt64)]
        var offset: UInt64
        var snapshot: (UInt64, UInt64)?
        var index: UInt64
        var term: UInt64?
        var testDescription: String { "entries \(entries) offset \(offset) snapshot \(String(describing: snapshot)) term(\(index))" }
    }

    @Test(arguments: [
        TermCase(entries: [(5, 1)], offset: 5, index: 5, term: 1),
        TermCase(entries: [(5, 1)], offset: 5, index: 6, term: nil),
        TermCase(entries: [(5, 1)], offset: 5, index: 4, term: nil),
        TermCase(entries: [(5, 1)], offset: 5, snapshot: (4, 1), index: 5, term: 1),
        TermCase(entries: [(5, 1)], offset: 5, snapshot: (4, 1), index: 6, term: nil),
        TermCase(entries: [(5, 1)], offset: 5, snapshot: (4, 1), index: 4, term: 1),
        TermCase(entries: [(5, 1)], offset: 5, snapshot: (4, 1), index: 3, term: nil),
        TermCase(entries: [], offset: 5, snapshot: (4, 1), index: 5, term: nil),
        TermCase(entries: [], offset: 5, snapshot: (4, 1), index: 4, term: 1),
        TermCase(entries: [], offset: 0, index: 5, term: nil),
    ])
    func termFromEntriesOrSnapshot(_ c: TermCase) {
        let unstable = Unstable(snapshot: c.snapshot.map { Self.snap($0.0, $0.1) }, entries: Self.entries(c.entries), offset: c.offset)
        #expect(unstable.term(at: c.index) == c.term)
    }

    @Test func restoreReplacesEverythingWithTheSnapshot() {
        var unstable = Unstable(
            snapshot: Self.snap(4, 1), entries: Self.entries([(5, 1)]), offset: 5, inFlightEnd: 6, isSnapshotInFlight: true)
        unstable.restore(Self.snap(6, 2))
        #expect(unstable.offset == 7)
        #expect(unstable.inFlightEnd == 7)
        #expect(unstable.entries.isEmpty)
        #expect(unstable.snapshot == Self.snap(6, 2))
        #expect(!unstable.isSnapshotInFlight)
        #expect(unstable.snapshotToPersist == Self.snap(6, 2))
    }

    struct StableCase: Sendable, CustomTestStringConvertible {
        var entries: [(UInt64, UInt64)]
        var offset: UInt64
        var snapshot: (UInt64, UInt64)?
        var index: UInt64, term: UInt64
        var wantOffset: UInt64, wantCount: Int
        var acknowledgement: Unstable.Acknowledgement
        var testDescription: String { "entries \(entries) offset \(offset) snapshot \(String(describing: snapshot)) stable(to: \(index), term: \(term))" }
    }

    @Test(arguments: [
        StableCase(entries: [], offset: 0, index: 5, term: 1, wantOffset: 0, wantCount: 0, acknowledgement: .refused(.unknownIndex(5))),
        StableCase(entries: [(5, 1)], offset: 5, index: 5, term: 1, wantOffset: 6, wantCount: 0, acknowledgement: .accepted),
        StableCase(entries: [(5, 1), (6, 1)], offset: 5, index: 5, term: 1, wantOffset: 6, wantCount: 1, acknowledgement: .accepted),
        StableCase(
            entries: [(6, 2)], offset: 6, index: 6, term: 1, wantOffset: 6, wantCount: 1,
            acknowledgement: .refused(.termMismatch(index: 6, acknowledged: 1, current: 2))),
        StableCase(entries: [(5, 1)], offset: 5, index: 4, term: 1, wantOffset: 5, wantCount: 1, acknowledgement: .refused(.alreadyStable(4))),
        StableCase(entries: [(5, 1)], offset: 5, index: 4, term: 2, wantOffset: 5, wantCount: 1, acknowledgement: .refused(.alreadyStable(4))),
        StableCase(entries: [(5, 1)], offset: 5, snapshot: (4, 1), index: 5, term: 1, wantOffset: 6, wantCount: 0, acknowledgement: .accepted),
        StableCase(
            entries: [(5, 1), (6, 1)], offset: 5, snapshot: (4, 1), index: 5, term: 1, wantOffset: 6, wantCount: 1, acknowledgement: .accepted),
        StableCase(
            entries: [(6, 2)], offset: 6, snapshot: (5, 1), index: 6, term: 1, wantOffset: 6, wantCount: 1,
            acknowledgement: .refused(.termMismatch(index: 6, acknowledged: 1, current: 2))),
        StableCase(
            entries: [(5, 1)], offset: 5, snapshot: (4, 1), index: 4, term: 1, wantOffset: 5, wantCount: 1,
            acknowledgement: .refused(.pendingSnapshotIndex(4))),
        StableCase(
            entries: [(5, 2)], offset: 5, snapshot: (4, 2), index: 4, term: 1, wantOffset: 5, wantCount: 1,
            acknowledgement: .refused(.pendingSnapshotIndex(4))),
    ])
    func stableDropsOnlyMatchingPersistedEntries(_ c: StableCase) {
        var unstable = Unstable(snapshot: c.snapshot.map { Self.snap($0.0, $0.1) }, entries: Self.entries(c.entries), offset: c.offset)
        #expect(unstable.stable(to: c.index, term: c.term) == c.acknowledgement)
        #expect(unstable.offset == c.wantOffset)
        #expect(unstable.entries.count == c.wantCount)
        #expect(unstable.snapshot == c.snapshot.map { Self.snap($0.0, $0.1) }, "entries acknowledgements leave the snapshot alone")
    }

    @Test func stableSnapshotClearsOnlyTheSameSnapshot() {
        var unstable = Unstable(snapshot: Self.snap(4, 1), offset: 5)
        let older = unstable.stableSnapshot(at: 3, term: 1)
        #expect(older == .refused(.snapshotNewer(acknowledged: SnapshotMarker(index: 3, term: 1), pending: SnapshotMarker(index: 4, term: 1))))
        #expect(unstable.snapshot != nil)
        #expect(unstable.stableSnapshot(at: 4, term: 1) == .accepted)
        #expect(unstable.snapshot == nil)
        #expect(unstable.stableSnapshot(at: 4, term: 1) == .refused(.noPendingSnapshot(4)))
    }

    struct AppendCase: Sendable, CustomTestStringConvertible {
        var entries: [(UInt64, UInt64)]
        var append: [(UInt64, UInt64)]
        var wantOffset: UInt64
        var want: [(UInt64, UInt64)]
        var testDescription: String { "\(entries) + \(append)" }
    }

    @Test(arguments: [
        AppendCase(entries: [(5, 1)], append: [(6, 1), (7, 1)], wantOffset: 5, want: [(5, 1), (6, 1), (7, 1)]),
        AppendCase(entries: [(5, 1)], append: [(5, 2), (6, 2)], wantOffset: 5, want: [(5, 2), (6, 2)]),
        AppendCase(entries: [(5, 1)], append: [(4, 2), (5, 2), (6, 2)], wantOffset: 4, want: [(4, 2), (5, 2), (6, 2)]),
        AppendCase(entries: [(5, 1), (6, 1), (7, 1)], append: [(6, 2)], wantOffset: 5, want: [(5, 1), (6, 2)]),
        AppendCase(entries: [(5, 1), (6, 1), (7, 1)], append: [(7, 2), (8, 2)], wantOffset: 5, want: [(5, 1), (6, 1), (7, 2), (8, 2)]),
    ])
    func appendReplacesTheTail(_ c: AppendCase) throws {
        var unstable = Unstable(entries: Self.entries(c.entries), offset: 5)
        try unstable.append(Self.entries(c.append))
        #expect(unstable.offset == c.wantOffset)
        #expect(unstable.entries == Self.entries(c.want))
    }

    @Test func appendingAfterAGapIsRefused() {
        var unstable = Unstable(entries: Self.entries([(5, 1)]), offset: 5)
        let error = #expect(throws: StorageError.self) { try unstable.append(Self.entries([(7, 1)])) }
        #expect(error?.code == .invariantViolation)
        #expect(error?.message.contains("first appended index (7) must not pass lastIndex + 1 (6)") == true)
        #expect(unstable.entries == Self.entries([(5, 1)]))
    }

    @Test func entriesOutsideTheUnstableEntriesAreAnInvariantError() throws {
        let unstable = Unstable(entries: Self.entries([(5, 1), (6, 1)]), offset: 5)
        #expect(try unstable.entries(in: 5..<7).map(\.index) == [5, 6])
        #expect(try unstable.entries(in: 6..<6).isEmpty)
        for (lo, hi) in [(4, 6), (6, 8)] as [(UInt64, UInt64)] {
            let error = #expect(throws: StorageError.self) { try unstable.entries(in: lo..<hi) }
            #expect(error?.code == .invariantViolation)
            #expect(error?.message.contains("must lie within [5, 7)") == true)
        }
    }
}
