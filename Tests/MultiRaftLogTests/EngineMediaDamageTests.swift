@testable import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Testing

/// Media damage in the engine's files after a clean close: a flipped bit, a zeroed sector, a
/// record's length word made larger and smaller, at the first, a middle and the last record of
/// every file. Opening must return every acknowledged entry and HardState of the group under
/// test, or refuse with a damage error naming the file and an offset; only damage confined to
/// the very last record may be cut off as a torn tail, with the repair reported.
@Suite("Engine media damage")
struct EngineMediaDamageTests {
    static let fileSize: Int64 = 4096

    static func open(_ fileSystem: FaultInjectingFileSystem) throws -> InterleavedLog {
        let engine = try LogEngine(directory: EngineFixtures.directory, options: EngineFixtures.options(fileSystem, fileSize: fileSize))
        return InterleavedLog(engine.log(for: EngineFixtures.group), ownsEngine: true)
    }

    /// Entry data without zero bytes, so no sector of a record reads as zeros by chance.
    static func entry(_ index: UInt64, term: UInt64, size: Int = 200) -> Entry {
        Entry(term: term, index: index, data: (0..<size).map { UInt8(truncatingIfNeeded: 1 + (Int(index) &* 31 &+ $0 &* 7) % 255) })
    }

    /// Saves of the group under test, each synced and each after a neighbour's record, over a
    /// few terms; the last save one entry larger than a sector, so the log's final record is
    /// the group's. Returns the durable disk and, for every record in write order, what the
    /// group had acknowledged once it was written.
    static func makeLog() throws -> (image: FaultInjectingFileSystem, acknowledgedAfter: [AcknowledgedLog]) {
        let fileSystem = FaultInjectingFileSystem()
        let log = try open(fileSystem)
        var acknowledged = AcknowledgedLog()
        var after: [AcknowledgedLog] = []
        var last: UInt64 = 0
        for save in 0..<UInt64(30) {
            let term = 1 + save / 10
            let entries = (1...(1 + save % 3)).map { entry(last + $0, term: term) }
            let state = HardState(term: term, vote: 1, commit: last)
            try log.save(hardState: state, entries: entries)
            try log.sync()
            after.append(acknowledged)  // the neighbour's record
            acknowledged.saved(hardState: state, entries: entries)
            after.append(acknowledged)
            last += UInt64(entries.count)
        }
        let final = [entry(last + 1, term: 3, size: 700)]
        try log.save(hardState: HardState(term: 3, vote: 1, commit: last), entries: final)
        try log.sync()
        after.append(acknowledged)
        acknowledged.saved(hardState: HardState(term: 3, vote: 1, commit: last), entries: final)
        after.append(acknowledged)
        try log.close()
        return (fileSystem, after)
    }

    /// Every record of the engine's files, in order: file, offset and framed size.
    static func records(on fileSystem: FaultInjectingFileSystem) throws -> [(path: String, offset: Int, size: Int)] {
        var found: [(path: String, offset: Int, size: Int)] = []
        let names = try fileSystem.contentsOfDirectory(EngineFixtures.directory).filter { LogFileFormat.fileNumber($0) != nil }.sorted()
        for name in names {
            let path = fileSystem.join(EngineFixtures.directory, name)
            let file = try fileSystem.open(path, .read, permissions: 0)
            defer { try? file.close() }
            var scanner = RecordScanner(file: file, path: path, size: try file.size())
            var offset = Int64(LogFileFormat.headerSize)
            while case .record(_, let next) = try scanner.record(at: offset) {
                found.append((path, Int(offset), Int(next - offset)))
                offset = next
            }
        }
        return found
    }

    /// The same cases `LogMediaDamage.cases` aims at a single-group log, with the torn-tail
    /// alternative taken from what was acknowledged before the last record.
    static func cases(_ records: [(path: String, offset: Int, size: Int)], acknowledgedAfter: [AcknowledgedLog]) -> [MediaDamageCase] {
        var cases: [MediaDamageCase] = []
        var files: [String] = []
        for record in records where !files.contains(record.path) { files.append(record.path) }
        for path in files {
            let held = records.indices.filter { records[$0].path == path }
            guard let first = held.first, let last = held.last else { continue }
            for (role, index) in [("first", first), ("middle", held[held.count / 2]), ("last", last)] {
                let record = records[index]
                let damages: [MediaDamage] = [
                    .flippedBit(offset: record.offset + record.size / 2, bit: 4),
                    .zeroedSector(offset: record.offset + record.size - 1, sectorSize: 512),
                    .lengthWord(offset: record.offset, .larger),
                    .lengthWord(offset: record.offset, .smaller),
                ]
                for damage in damages {
                    let confined = index == records.count - 1 && damage.firstByte >= record.offset
                    cases.append(MediaDamageCase(
                        path: path, damage: damage, position: "\(role) record of \(path) at offset \(record.offset)",
                        tornTailAlternative: confined ? acknowledgedAfter[index - 1] : nil))
                }
            }
        }
        return cases
    }

    @Test func damageIsRefusedOrRecoveredNeverLost() throws {
        let (image, acknowledgedAfter) = try Self.makeLog()
        let records = try Self.records(on: image)
        // One record per write: the neighbour's, then the group's.
        try #require(records.count == acknowledgedAfter.count)
        let files = Set(records.map(\.path)).count
        #expect(files >= 3)
        let cases = Self.cases(records, acknowledgedAfter: acknowledgedAfter)
        #expect(cases.count == 12 * files)
        let checker = LogMediaDamage<InterleavedLog>(open: { fileSystem in try Self.open(fileSystem) })
        let report = try checker.check(cases, image: image, acknowledged: try #require(acknowledgedAfter.last))
        #expect(report.cases == cases.count)
        #expect(report.losses == 0 && report.misreported == 0)
        #expect(report.errorsReported > 0)
        print("[media-damage] engine: \(report)")
    }
}
