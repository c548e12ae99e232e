import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// The media-damage machinery and the HardState check of the crash models, tested themselves:
/// the damage does what it says, a log without checksums is caught returning damaged data, and a
/// log that loses its vote is caught by the crash enumeration.
@Suite("Media damage and vote checks")
struct MediaDamageCheckerTests {
    @Test func damageKinds() {
        let bytes = [UInt8](repeating: 0xAA, count: 1000)
        #expect(MediaDamage.flippedBit(offset: 10, bit: 4).applied(to: bytes)[10] == 0xBA)
        #expect(MediaDamage.flippedBit(offset: 1000, bit: 4).applied(to: bytes) == bytes)

        // The aligned sector holding offset 700, as far as the file reaches.
        let zeroed = MediaDamage.zeroedSector(offset: 700, sectorSize: 512).applied(to: bytes)
        #expect(zeroed.count == 1000)
        #expect(zeroed[..<512].allSatisfy { $0 == 0xAA })
        #expect(zeroed[512...].allSatisfy { $0 == 0 })
        #expect(MediaDamage.zeroedSector(offset: 700, sectorSize: 512).bytes(inFileOf: 1000) == 512..<1000)

        // A length word of 300 (0x012C): one byte changed, 256 more or fewer.
        var framed = [UInt8](repeating: 0, count: 16)
        framed[0] = 0x2C
        framed[1] = 0x01
        let larger = MediaDamage.lengthWord(offset: 0, .larger).applied(to: framed)
        #expect(larger[0] == 0x2C && larger[1] == 0x02)
        let smaller = MediaDamage.lengthWord(offset: 0, .smaller).applied(to: framed)
        #expect(smaller[0] == 0x2C && smaller[1] == 0x00)
        // Below 256: halved.
        framed[1] = 0
        #expect(MediaDamage.lengthWord(offset: 0, .smaller).applied(to: framed)[0] == 0x16)
        #expect(MediaDamage.lengthWord(offset: 9, .larger).applied(to: framed) == framed, "a word past the end is left alone")
    }

    @Test func acknowledgedLogKeepsRaftsReplacementRule() {
        var log = AcknowledgedLog()
        log.saved(hardState: HardState(term: 1, vote: 1, commit: 1), entries: (1...4).map { Entry(term: 1, index: $0) })
        log.saved(hardState: .empty, entries: [Entry(term: 2, index: 3)])
        #expect(log.lastIndex == 3)
        #expect(log.entries[3] == Entry(term: 2, index: 3))
        #expect(log.hardState == HardState(term: 1, vote: 1, commit: 1))
        let replayed = AcknowledgedLog(replaying: [
            .hardState(HardState(term: 1, vote: 1, commit: 1)),
            .entry(Entry(term: 1, index: 1)), .entry(Entry(term: 1, index: 2)), .entry(Entry(term: 1, index: 3)), .entry(Entry(term: 1, index: 4)),
            .crc(7), .entry(Entry(term: 2, index: 3)),
        ])
        #expect(replayed == log)
    }

    /// The whole-file log keeps no checksums: a flipped bit in an entry or in the vote loads as
    /// changed data, which the checker reports as a loss.
    @Test func aLogWithoutChecksumsIsCaught() throws {
        let fs = FaultInjectingFileSystem()
        let store = try WholeFileLogStore(fs: fs, directory: "/log", atomic: true)
        var acknowledged = AcknowledgedLog()
        let state = HardState(term: 1, vote: 1, commit: 3)
        let entries = (1...4).map { Entry(term: 1, index: $0, data: Array(repeating: UInt8($0), count: 32)) }
        try store.save(hardState: state, entries: entries)
        acknowledged.saved(hardState: state, entries: entries)
        try store.close()
        let image = try fs.durableCopy()
        let size = try #require(image.contents(of: "/log/log")).count

        let checker = LogMediaDamage<WholeFileLogStore>(open: { fs in try WholeFileLogStore(fs: fs, directory: "/log", atomic: true) })
        let (control, _) = try checker.explore(
            [MediaDamageCase(path: "/log/missing", damage: .flippedBit(offset: 0, bit: 0), position: "no file")], image: image, acknowledged: acknowledged)
        #expect(control.recovered == 1 && control.unchanged == 1)

        // The file: boundary index and term, then term, vote and commit (8 bytes each), ...
        let cases = [
            MediaDamageCase(path: "/log/log", damage: .flippedBit(offset: size - 1, bit: 0), position: "the last entry's last byte"),
            MediaDamageCase(path: "/log/log", damage: .flippedBit(offset: 24, bit: 0), position: "the vote"),
        ]
        let (report, problems) = try checker.explore(cases, image: image, acknowledged: acknowledged)
        #expect(report.cases == 2)
        #expect(report.losses == 2)
        #expect(problems.count == 2)
        #expect(problems.contains { $0.contains("vote") })
    }

    /// A log that drops the vote of every HardState it stores is caught by the crash enumeration:
    /// after a crash the vote of the term is gone.
    @Test func aLogThatLosesItsVoteIsCaught() throws {
        let checker = LogCrashConsistency(open: { fs in try VoteLosingLogStore(fs: fs) })
        let workload = LogCrashConsistency<VoteLosingLogStore>.Workload(name: "a vote", steps: [
            .save(HardState(term: 1, vote: 0, commit: 0), []),
            .save(HardState(term: 1, vote: 1, commit: 0), [Entry(term: 1, index: 1, data: [1])]),
        ])
        let (_, problems) = try checker.explore(workload, outcomes: [.dropUnsynced])
        #expect(problems.contains { $0.contains("lost the vote") })
    }

    /// The crash workloads cast votes in new terms.
    @Test func theWorkloadsVote() {
        let logVotes = LogCrashConsistency<WholeFileLogStore>.workloads.flatMap(\.steps).compactMap { step -> HardState? in
            guard case .save(let state, _) = step else { return nil }
            return state
        }
        #expect(logVotes.contains { $0.vote == 0 && $0.term > 1 })
        #expect(logVotes.contains { $0.vote != 0 && $0.vote != 1 })
    }
}

/// A whole-file log that stores every HardState without its vote: the vote it reports until a
/// restart is gone after one.
final class VoteLosingLogStore: LogStore {
    let base: WholeFileLogStore

    init(fs: any FileSystem) throws(StorageError) {
        base = try WholeFileLogStore(fs: fs, directory: "/log", atomic: true)
    }

    func firstIndex() throws(StorageError) -> UInt64 { try base.firstIndex() }
    func lastIndex() throws(StorageError) -> UInt64 { try base.lastIndex() }
    func term(at index: UInt64) throws(StorageError) -> UInt64 { try base.term(at: index) }
    func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] { try base.entries(in: range, maxBytes: maxBytes) }
    func hardState() throws(StorageError) -> HardState { try base.hardState() }
    func snapshotMarker() throws(StorageError) -> SnapshotMarker { try base.snapshotMarker() }
    func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] { try base.snapshotMarkers() }
    func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        let withoutVote = hardState.isEmpty ? hardState : HardState(term: hardState.term, vote: 0, commit: hardState.commit)
        try base.save(hardState: withoutVote, entries: entries)
    }
    func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) { try base.applySnapshot(metadata) }
    func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) { try base.recordSnapshot(metadata) }
    func compact(through index: UInt64) throws(StorageError) { try base.compact(through: index) }
    func sync() throws(StorageError) { try base.sync() }
    func resume(from marker: SnapshotMarker) throws(StorageError) { try base.resume(from: marker) }
    func close() throws(StorageError) { try base.close() }
}
