import RaftStorage
import Testing

/// Asynchronous storage writes on the unstable log: what is in flight, what is handed out, and
/// which acknowledgements are taken. The behaviours of etcd raft's unstable tests for
/// `nextEntries`, `nextSnapshot`, `acceptInProgress`, `stableTo` and `truncateAndAppend` with
/// entries in progress, in our own words: entries are (index, term) pairs.
@Suite("Unstable in-flight tracking")
struct UnstablePersistenceTests {
    static func entries(_ pairs: [(UInt64, UInt64)]) -> [Entry] { pairs.map { Entry(term: $0.1, index: $0.0) } }
    static func snap(_ index: UInt64, _ term: UInt64) -> Snapshot { Snapshot(metadata: SnapshotMetadata(index: index, term: term)) }
    static let pending = snap(4, 1)

    // MARK: - Handing out

    /// Entries (5, 1) (6, 1): nothing in flight, the first in flight, both in flight.
    static let inFlightCases: [(UInt64, [UInt64])] = [(5, [5, 6]), (6, [6]), (7, [])]

    @Test(arguments: inFlightCases)
    func entriesToPersistSkipsThoseInFlight(inFlightEnd: UInt64, expected: [UInt64]) {
        let unstable = Unstable(entries: Self.entries([(5, 1), (6, 1)]), offset: 5, inFlightEnd: inFlightEnd)
        #expect(unstable.entriesToPersist.map(\.index) == expected)
        #expect(unstable.hasEntriesToPersist == !expected.isEmpty)
    }

    @Test func snapshotToPersistSkipsOneInFlight() {
        #expect(Unstable(offset: 5).snapshotToPersist == nil)
        #expect(Unstable(snapshot: Self.pending, offset: 5).snapshotToPersist == Self.pending)
        #expect(Unstable(snapshot: Self.pending, offset: 5, isSnapshotInFlight: true).snapshotToPersist == nil)
    }

    @Test func initKeepsTheInFlightEndWithinTheEntries() {
        #expect(Unstable(entries: Self.entries([(5, 1)]), offset: 5, inFlightEnd: 9).inFlightEnd == 6)
        #expect(Unstable(entries: Self.entries([(5, 1)]), offset: 5, inFlightEnd: 2).inFlightEnd == 5)
        #expect(Unstable(offset: 5).inFlightEnd == 5)
        #expect(!Unstable(offset: 5, isSnapshotInFlight: true).isSnapshotInFlight, "no snapshot, nothing in flight")
    }

    struct MarkCase: Sendable, CustomTestStringConvertible {
        var entries: [(UInt64, UInt64)]
        var snapshot: Bool
        var inFlightEnd: UInt64
        var snapshotInFlight: Bool
        var wantEnd: UInt64
        var testDescription: String {
            "entries \(entries) snapshot \(snapshot) in flight to \(inFlightEnd) (snapshot \(snapshotInFlight))"
        }
    }

    // offset 5; the pending snapshot, when there is one, is at (4, 1).
    @Test(arguments: [
        MarkCase(entries: [], snapshot: false, inFlightEnd: 5, snapshotInFlight: false, wantEnd: 5),
        MarkCase(entries: [(5, 1)], snapshot: false, inFlightEnd: 5, snapshotInFlight: false, wantEnd: 6),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: false, inFlightEnd: 5, snapshotInFlight: false, wantEnd: 7),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: false, inFlightEnd: 6, snapshotInFlight: false, wantEnd: 7),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: false, inFlightEnd: 7, snapshotInFlight: false, wantEnd: 7),
        MarkCase(entries: [], snapshot: true, inFlightEnd: 5, snapshotInFlight: false, wantEnd: 5),
        MarkCase(entries: [(5, 1)], snapshot: true, inFlightEnd: 5, snapshotInFlight: false, wantEnd: 6),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: true, inFlightEnd: 5, snapshotInFlight: false, wantEnd: 7),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: true, inFlightEnd: 6, snapshotInFlight: false, wantEnd: 7),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: true, inFlightEnd: 7, snapshotInFlight: false, wantEnd: 7),
        MarkCase(entries: [], snapshot: true, inFlightEnd: 5, snapshotInFlight: true, wantEnd: 5),
        MarkCase(entries: [(5, 1)], snapshot: true, inFlightEnd: 5, snapshotInFlight: true, wantEnd: 6),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: true, inFlightEnd: 5, snapshotInFlight: true, wantEnd: 7),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: true, inFlightEnd: 6, snapshotInFlight: true, wantEnd: 7),
        MarkCase(entries: [(5, 1), (6, 1)], snapshot: true, inFlightEnd: 7, snapshotInFlight: true, wantEnd: 7),
    ])
    func markInFlightCoversEverythingUnstable(_ c: MarkCase) {
        var unstable = Unstable(
            snapshot: c.snapshot ? Self.pending : nil, entries: Self.entries(c.entries), offset: 5,
            inFlightEnd: c.inFlightEnd, isSnapshotInFlight: c.snapshotInFlight)
        unstable.markInFlight()
        #expect(unstable.inFlightEnd == c.wantEnd)
        #expect(unstable.isSnapshotInFlight == c.snapshot)
        #expect(unstable.entriesToPersist.isEmpty)
        #expect(unstable.snapshotToPersist == nil)
    }

    @Test func beginWriteHandsOutEachEntryOnce() throws {
        var unstable = Unstable(snapshot: Self.pending, entries: Self.entries([(5, 1), (6, 1)]), offset: 5)
        let first = unstable.beginWrite()
        #expect(first.snapshot == Self.pending)
        #expect(first.entries == Self.entries([(5, 1), (6, 1)]))
        #expect(unstable.beginWrite().isEmpty, "everything is in flight")
        try unstable.append(Self.entries([(7, 1)]))
        #expect(unstable.beginWrite() == Unstable.Write(entries: Self.entries([(7, 1)])))
        #expect(unstable.inFlightEnd == 8)
        // Everything stays readable until acknowledged.
        #expect(unstable.term(at: 6) == 1)
        #expect(try unstable.entries(in: 5..<8).count == 3)
    }

    // MARK: - Acknowledgements with entries in flight

    struct StableCase: Sendable, CustomTestStringConvertible {
        var entries: [(UInt64, UInt64)]
        var offset: UInt64
        var inFlightEnd: UInt64
        var snapshot: (UInt64, UInt64)?
        var index: UInt64, term: UInt64
        var wantOffset: UInt64, wantInFlightEnd: UInt64, wantCount: Int
        var acknowledgement: Unstable.Acknowledgement
        var testDescription: String {
            "entries \(entries) offset \(offset) in flight to \(inFlightEnd) snapshot \(String(describing: snapshot)) stable(to: \(index), term: \(term))"
        }
    }

    @Test(arguments: [
        StableCase(
            entries: [], offset: 0, inFlightEnd: 0, index: 5, term: 1,
            wantOffset: 0, wantInFlightEnd: 0, wantCount: 0, acknowledgement: .refused(.unknownIndex(5))),
        // the only entry
        StableCase(
            entries: [(5, 1)], offset: 5, inFlightEnd: 6, index: 5, term: 1,
            wantOffset: 6, wantInFlightEnd: 6, wantCount: 0, acknowledgement: .accepted),
        // the first of two, both in flight: the second stays in flight
        StableCase(
            entries: [(5, 1), (6, 1)], offset: 5, inFlightEnd: 7, index: 5, term: 1,
            wantOffset: 6, wantInFlightEnd: 7, wantCount: 1, acknowledgement: .accepted),
        // the first of two, only it in flight
        StableCase(
            entries: [(5, 1), (6, 1)], offset: 5, inFlightEnd: 6, index: 5, term: 1,
            wantOffset: 6, wantInFlightEnd: 6, wantCount: 1, acknowledgement: .accepted),
        // not handed out through beginWrite (the synchronous flow): still taken
        StableCase(
            entries: [(5, 1), (6, 1)], offset: 5, inFlightEnd: 5, index: 6, term: 1,
            wantOffset: 7, wantInFlightEnd: 7, wantCount: 0, acknowledgement: .accepted),
        // the entry was replaced by a newer term
        StableCase(
            entries: [(6, 2)], offset: 6, inFlightEnd: 7, index: 6, term: 1,
            wantOffset: 6, wantInFlightEnd: 7, wantCount: 1,
            acknowledgement: .refused(.termMismatch(index: 6, acknowledged: 1, current: 2))),
        // an index already stable, whatever the term
        StableCase(
            entries: [(5, 1)], offset: 5, inFlightEnd: 6, index: 4, term: 1,
            wantOffset: 5, wantInFlightEnd: 6, wantCount: 1, acknowledgement: .refused(.alreadyStable(4))),
        StableCase(
            entries: [(5, 1)], offset: 5, inFlightEnd: 6, index: 4, term: 2,
            wantOffset: 5, wantInFlightEnd: 6, wantCount: 1, acknowledgement: .refused(.alreadyStable(4))),
        // with a pending snapshot
        StableCase(
            entries: [(5, 1)], offset: 5, inFlightEnd: 6, snapshot: (4, 1), index: 5, term: 1,
            wantOffset: 6, wantInFlightEnd: 6, wantCount: 0, acknowledgement: .accepted),
        StableCase(
            entries: [(5, 1), (6, 1)], offset: 5, inFlightEnd: 7, snapshot: (4, 1), index: 5, term: 1,
            wantOffset: 6, wantInFlightEnd: 7, wantCount: 1, acknowledgement: .accepted),
        StableCase(
            entries: [(6, 2)], offset: 6, inFlightEnd: 7, snapshot: (5, 1), index: 6, term: 1,
            wantOffset: 6, wantInFlightEnd: 7, wantCount: 1,
            acknowledgement: .refused(.termMismatch(index: 6, acknowledged: 1, current: 2))),
        StableCase(
            entries: [(5, 1)], offset: 5, inFlightEnd: 6, snapshot: (4, 1), index: 4, term: 1,
            wantOffset: 5, wantInFlightEnd: 6, wantCount: 1, acknowledgement: .refused(.pendingSnapshotIndex(4))),
        StableCase(
            entries: [(5, 2)], offset: 5, inFlightEnd: 6, snapshot: (4, 2), index: 4, term: 1,
            wantOffset: 5, wantInFlightEnd: 6, wantCount: 1, acknowledgement: .refused(.pendingSnapshotIndex(4))),
    ])
    func stableWithEntriesInFlight(_ c: StableCase) {
        var unstable = Unstable(
            snapshot: c.snapshot.map { Self.snap($0.0, $0.1) }, entries: Self.entries(c.entries), offset: c.offset,
            inFlightEnd: c.inFlightEnd)
        #expect(unstable.stable(to: c.index, term: c.term) == c.acknowledgement)
        #expect(unstable.offset == c.wantOffset)
        #expect(unstable.inFlightEnd == c.wantInFlightEnd)
        #expect(unstable.entries.count == c.wantCount)
    }

    @Test func anAcknowledgementIsTakenOnce() {
        var unstable = Unstable(entries: Self.entries([(5, 1), (6, 1)]), offset: 5)
        _ = unstable.beginWrite()
        #expect(unstable.stable(to: 6, term: 1) == .accepted)
        let again = unstable.stable(to: 6, term: 1)
        #expect(again == .refused(.alreadyStable(6)))
        #expect(!again.isAccepted)
        #expect(again.refusal?.description.contains("already stable") == true)
        #expect(unstable.entries.isEmpty)
        #expect(unstable.offset == 7)
        #expect(unstable.inFlightEnd == 7)
    }

    @Test func acknowledgementsOfAnEmptyLogSayWhyTheyAreRefused() {
        var unstable = Unstable(offset: 1)
        let ack = unstable.stable(to: 99, term: 7)
        #expect(ack == .refused(.unknownIndex(99)))
        #expect(ack.description.contains("99"))
        #expect(unstable.stableSnapshot(at: 99, term: 7) == .refused(.noPendingSnapshot(99)))
    }

    // MARK: - Replacing entries in flight

    struct AppendCase: Sendable, CustomTestStringConvertible {
        var entries: [(UInt64, UInt64)]
        var inFlightEnd: UInt64
        var append: [(UInt64, UInt64)]
        var wantOffset: UInt64, wantInFlightEnd: UInt64
        var want: [(UInt64, UInt64)]
        var testDescription: String { "\(entries) in flight to \(inFlightEnd) + \(append)" }
    }

    // offset 5
    @Test(arguments: [
        // appending after the end leaves the in-flight entries as they are
        AppendCase(entries: [(5, 1)], inFlightEnd: 5, append: [(6, 1), (7, 1)], wantOffset: 5, wantInFlightEnd: 5, want: [(5, 1), (6, 1), (7, 1)]),
        AppendCase(entries: [(5, 1)], inFlightEnd: 6, append: [(6, 1), (7, 1)], wantOffset: 5, wantInFlightEnd: 6, want: [(5, 1), (6, 1), (7, 1)]),
        // replacing every unstable entry ends all in-flight tracking
        AppendCase(entries: [(5, 1)], inFlightEnd: 5, append: [(5, 2), (6, 2)], wantOffset: 5, wantInFlightEnd: 5, want: [(5, 2), (6, 2)]),
        AppendCase(entries: [(5, 1)], inFlightEnd: 5, append: [(4, 2), (5, 2), (6, 2)], wantOffset: 4, wantInFlightEnd: 4, want: [(4, 2), (5, 2), (6, 2)]),
        AppendCase(entries: [(5, 1)], inFlightEnd: 6, append: [(5, 2), (6, 2)], wantOffset: 5, wantInFlightEnd: 5, want: [(5, 2), (6, 2)]),
        // replacing a tail keeps in flight only what comes before it
        AppendCase(entries: [(5, 1), (6, 1), (7, 1)], inFlightEnd: 5, append: [(6, 2)], wantOffset: 5, wantInFlightEnd: 5, want: [(5, 1), (6, 2)]),
        AppendCase(
            entries: [(5, 1), (6, 1), (7, 1)], inFlightEnd: 5, append: [(7, 2), (8, 2)], wantOffset: 5, wantInFlightEnd: 5,
            want: [(5, 1), (6, 1), (7, 2), (8, 2)]),
        AppendCase(entries: [(5, 1), (6, 1), (7, 1)], inFlightEnd: 6, append: [(6, 2)], wantOffset: 5, wantInFlightEnd: 6, want: [(5, 1), (6, 2)]),
        AppendCase(entries: [(5, 1), (6, 1), (7, 1)], inFlightEnd: 7, append: [(6, 2)], wantOffset: 5, wantInFlightEnd: 6, want: [(5, 1), (6, 2)]),
        AppendCase(entries: [(5, 1), (6, 1), (7, 1)], inFlightEnd: 8, append: [(6, 2)], wantOffset: 5, wantInFlightEnd: 6, want: [(5, 1), (6, 2)]),
    ])
    func appendWithEntriesInFlight(_ c: AppendCase) throws {
        var unstable = Unstable(entries: Self.entries(c.entries), offset: 5, inFlightEnd: c.inFlightEnd)
        try unstable.append(Self.entries(c.append))
        #expect(unstable.offset == c.wantOffset)
        #expect(unstable.inFlightEnd == c.wantInFlightEnd)
        #expect(unstable.entries == Self.entries(c.want))
        // What is no longer in flight is handed out again.
        #expect(unstable.entriesToPersist == Array(Self.entries(c.want)[Int(c.wantInFlightEnd - c.wantOffset)...]))
    }

    @Test func aNewLeaderOverwritingEntriesInFlightMakesTheirAcknowledgementStale() throws {
        var unstable = Unstable(offset: 5)
        try unstable.append(Self.entries([(5, 1), (6, 1), (7, 1)]))
        let oldWrite = unstable.beginWrite()
        #expect(oldWrite.entries.map(\.index) == [5, 6, 7])

        // A new leader replaces 6 and 7 while the old write is under way.
        try unstable.append(Self.entries([(6, 2)]))
        #expect(unstable.inFlightEnd == 6)
        let newWrite = unstable.beginWrite()
        #expect(newWrite.entries == Self.entries([(6, 2)]))

        // The old write's acknowledgement names entries that are gone or replaced.
        #expect(unstable.stable(to: 7, term: 1) == .refused(.unknownIndex(7)))
        #expect(unstable.stable(to: 6, term: 1) == .refused(.termMismatch(index: 6, acknowledged: 1, current: 2)))
        #expect(unstable.entries == Self.entries([(5, 1), (6, 2)]))
        // Entry 5 was not replaced: its acknowledgement is good; the new entry 6 stays in flight.
        #expect(unstable.stable(to: 5, term: 1) == .accepted)
        #expect(unstable.offset == 6)
        #expect(unstable.inFlightEnd == 7)
        // The new write's acknowledgement completes it.
        #expect(unstable.stable(to: 6, term: 2) == .accepted)
        #expect(unstable.entries.isEmpty)
        #expect(unstable.offset == 7)
        #expect(unstable.inFlightEnd == 7)
        #expect(unstable.beginWrite().isEmpty)
    }

    @Test func replacingEntriesBeforeTheOffsetMakesLaterAcknowledgementsUnknown() throws {
        var unstable = Unstable(entries: Self.entries([(5, 1), (6, 1)]), offset: 5)
        _ = unstable.beginWrite()
        try unstable.append(Self.entries([(4, 2)]))
        #expect(unstable.offset == 4)
        #expect(unstable.inFlightEnd == 4)
        #expect(unstable.stable(to: 6, term: 1) == .refused(.unknownIndex(6)))
        #expect(unstable.stable(to: 5, term: 1) == .refused(.unknownIndex(5)))
        #expect(unstable.stable(to: 4, term: 1) == .refused(.termMismatch(index: 4, acknowledged: 1, current: 2)))
        #expect(unstable.beginWrite().entries == Self.entries([(4, 2)]))
    }

    // MARK: - Snapshots in flight

    @Test func snapshotAcknowledgementsMatchIndexAndTerm() {
        var unstable = Unstable(offset: 1)
        unstable.restore(Self.snap(10, 2))
        let first = unstable.beginWrite()
        #expect(first.snapshot == Self.snap(10, 2))
        #expect(unstable.isSnapshotInFlight)
        #expect(unstable.beginWrite().snapshot == nil, "handed out once")

        // A newer snapshot arrives while the first is being written.
        unstable.restore(Self.snap(12, 3))
        #expect(!unstable.isSnapshotInFlight)
        #expect(unstable.beginWrite().snapshot == Self.snap(12, 3))

        let stale = unstable.stableSnapshot(at: 10, term: 2)
        let newer = Unstable.Refusal.snapshotNewer(
            acknowledged: SnapshotMarker(index: 10, term: 2), pending: SnapshotMarker(index: 12, term: 3))
        #expect(stale == .refused(newer))
        #expect(unstable.stableSnapshot(at: 12, term: 2) == .refused(.termMismatch(index: 12, acknowledged: 2, current: 3)))
        #expect(unstable.stableSnapshot(at: 13, term: 3) == .refused(.unknownIndex(13)))
        #expect(unstable.snapshot == Self.snap(12, 3))

        #expect(unstable.stableSnapshot(at: 12, term: 3) == .accepted)
        #expect(unstable.snapshot == nil)
        #expect(!unstable.isSnapshotInFlight)
        #expect(unstable.offset == 13)
    }

    @Test func entriesAfterAPendingSnapshotAreAcknowledgedSeparately() throws {
        var unstable = Unstable(offset: 1)
        unstable.restore(Self.snap(10, 2))
        try unstable.append(Self.entries([(11, 2), (12, 2)]))
        let write = unstable.beginWrite()
        #expect(write.snapshot == Self.snap(10, 2))
        #expect(write.entries.map(\.index) == [11, 12])
        #expect(unstable.stable(to: 10, term: 2) == .refused(.pendingSnapshotIndex(10)))
        #expect(unstable.stableSnapshot(at: 10, term: 2) == .accepted)
        #expect(unstable.stable(to: 12, term: 2) == .accepted)
        #expect(unstable.firstIndex == nil)
        #expect(unstable.lastIndex == nil)
        #expect(unstable.offset == 13)
    }
}
