import EtcdStorage
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// Media damage - faults a crash does not make but disks do - in WAL segments that were written
/// and synced: a flipped bit, a zeroed 512-byte sector, a record's length word made larger and
/// smaller, at the first, a middle and the last record of every segment, sealed ones and the
/// tail. Opening the WAL must return every acknowledged entry and the acknowledged HardState, or
/// refuse with a damage error naming the segment and an offset; only damage confined to the
/// log's very last record may instead be cut off as a torn tail, with the repair reported.
@Suite("WAL media damage")
struct WALMediaDamageTests {
    typealias Store = WALLogStore<ProtobufRecordCodec>
    static let directory = "/wal"
    static let segmentSize: Int64 = 4096
    static let quiet = Logger(label: "media-damage", factory: { _ in SwiftLogNoOpLogHandler() })

    static func walOptions(_ fileSystem: FaultInjectingFileSystem) -> WALOptions {
        WALOptions(fileSystem: fileSystem, segmentSize: segmentSize, logger: quiet)
    }

    /// A torn tail cut counts as reported when `recoveryActions` say so (the default).
    static let checker = LogMediaDamage<Store>(open: { fileSystem in
        try WALLogStore.open(at: directory, options: Store.Options(wal: walOptions(fileSystem)))
    })

    struct WorkloadFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// An entry whose data is a function of its index and term.
    static func entry(_ index: UInt64, _ term: UInt64, size: Int = 200) -> Entry {
        Entry(term: term, index: index, data: (0..<size).map { UInt8(truncatingIfNeeded: Int(index) &* 31 &+ Int(term) &* 7 &+ $0 &* 13 &+ 1) })
    }

    /// The log, every save synced, closed cleanly: three terms, each started without a vote and
    /// then voted in, batches of entries with commit following (a new leader's first batch
    /// replaces the previous term's uncommitted last entry), single entries until there are at
    /// least three segments and the tail holds a few saves, and last one entry larger than a
    /// sector saved alone, so the log's final bytes are one record. Returns the disk as it is
    /// durably and what was acknowledged.
    static func makeLog() throws -> (image: FaultInjectingFileSystem, acknowledged: AcknowledgedLog) {
        let fs = FaultInjectingFileSystem()
        let store = try WALLogStore.open(at: directory, options: Store.Options(wal: walOptions(fs)))
        var acknowledged = AcknowledgedLog()
        func segmentCount() -> Int { fs.files(under: directory).filter { $0.hasSuffix(".wal") }.count }
        var segments = segmentCount()
        var savesInTail = 0
        func save(_ state: HardState, _ entries: [Entry]) throws {
            try store.save(hardState: state, entries: entries)
            try store.sync()
            acknowledged.saved(hardState: state, entries: entries)
            let now = segmentCount()
            if now != segments {
                segments = now
                savesInTail = 0
            } else {
                savesInTail += 1
            }
        }

        var last: UInt64 = 0
        var commit: UInt64 = 0
        for term: UInt64 in 1...3 {
            try save(HardState(term: term, vote: 0, commit: commit), [])  // a new term, no vote yet
            try save(HardState(term: term, vote: term, commit: commit), [])  // the vote, cast in it
            for round in 0..<5 {
                let start = round == 0 && last > commit ? last : last + 1
                let batch = (start...(start + 2)).map { entry($0, term) }
                last = start + 2
                commit = last - 1
                try save(HardState(term: term, vote: term, commit: commit), batch)
            }
        }
        var fills = 0
        while true {
            while segments < 3 || savesInTail < 3 {
                fills += 1
                guard fills < 100 else { throw WorkloadFailure(description: "no three segments with a few saves in the tail after \(fills) saves") }
                last += 1
                commit = last
                try save(HardState(term: 3, vote: 3, commit: commit), [entry(last, 3)])
            }
            // The final bytes written: one entry larger than a sector, without a HardState, so
            // that a zeroed sector holding its last byte lies within it.
            let before = segments
            last += 1
            try save(.empty, [entry(last, 3, size: 700)])
            if segments == before { break }
        }
        try store.close()
        return (try fs.durableCopy(), acknowledged)
    }

    @Test("a flipped bit, a zeroed sector or a damaged length word in synced segments: everything acknowledged, or a damage error naming the segment")
    func damagedSegments() throws {
        let (image, acknowledged) = try Self.makeLog()
        let replay = try WAL.read(
            at: Self.directory, from: .zero, codec: ProtobufRecordCodec(), options: Self.walOptions(image),
            replayOptions: WALReplayOptions(collectsRecords: true))
        #expect(replay.error == nil)
        let records = replay.records.map { StoredRecord(path: $0.path, offset: Int($0.offset), size: $0.frameSize, record: $0.record) }
        // What the test acknowledged is what the WAL holds.
        #expect(AcknowledgedLog(replaying: records.map(\.record)) == acknowledged)

        var files: [String] = []
        for record in records where !files.contains(record.path) { files.append(record.path) }
        #expect(files.count >= 3, "several segments")
        #expect(files.count == replay.segments.count)
        let tail = try #require(files.last)
        #expect(records.filter { $0.path == tail }.count >= 6, "the tail segment holds a few saves")
        let final = try #require(records.last)
        #expect(final.size >= 512, "the log's final record is larger than a sector")

        // Undamaged, the log recovers everything.
        let control = try Self.checker.check(
            [MediaDamageCase(path: Self.directory + "/missing.wal", damage: .flippedBit(offset: 0, bit: 0), position: "no file")],
            image: image, acknowledged: acknowledged)
        #expect(control.recovered == 1)

        let cases = LogMediaDamage<Store>.cases(records: records)
        #expect(cases.count == files.count * 3 * 4)
        // Only the four damages of the final record lie within it (and may pass for a torn write).
        #expect(cases.filter { $0.tornTailAlternative != nil }.count == 4)

        let report = try Self.checker.check(cases, image: image, acknowledged: acknowledged)
        print("[media-damage] WALLogStore (\(files.count) segments of \(Self.segmentSize) bytes, \(acknowledged.lastIndex) entries): \(report)")
        #expect(report.cases == cases.count)
        #expect(report.losses == 0)
        #expect(report.misreported == 0)
        #expect(report.unchanged == 0)
        #expect(report.tornTailsCut <= 4)
        #expect(report.recovered + report.tornTailsCut + report.errorsReported == report.cases)
    }
}
