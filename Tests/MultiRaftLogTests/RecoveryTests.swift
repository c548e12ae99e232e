import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Testing

/// A batch is one record: after any crash all of its groups' parts are there, or none.
@Suite("Atomic batches across crashes")
struct AtomicBatchTests {
    static let groups: [UInt64] = [1, 2, 3]

    static func entries(_ indexes: ClosedRange<UInt64>, group: UInt64) -> [Entry] {
        // Large enough that the batch's record spans many sectors, so a torn write can cut it.
        indexes.map { Entry(term: 1, index: $0, data: Array(repeating: UInt8(truncatingIfNeeded: $0 &+ group), count: 2000)) }
    }

    @Test(arguments: [
        (FaultInjectingFileSystem.CrashOutcome.dropUnsynced, UInt64(5)),
        (.keepUnsynced, 8),
        (.tearLastWrite(path: nil, sectorSize: 512), 5),
        (.tearLastWrite(path: nil, sectorSize: 4096), 5),
    ])
    func multiGroupBatchIsAllOrNothing(outcome: FaultInjectingFileSystem.CrashOutcome, expectedLast: UInt64) throws {
        let engine = try EngineFixtures.newEngine(fileSize: 1 << 20)
        var first = WriteBatch()
        for group in Self.groups { first.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: Self.entries(1...5, group: group), for: group) }
        try engine.write(first, sync: true)
        var second = WriteBatch()
        for group in Self.groups { second.save(hardState: HardState(term: 1, vote: 1, commit: 7), entries: Self.entries(6...8, group: group), for: group) }
        try engine.write(second, sync: false)

        try EngineFixtures.fileSystem(of: engine).crash(outcome)
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        for group in Self.groups {
            let log = reopened.log(for: group)
            #expect(try log.lastIndex() == expectedLast, "group \(group)")
            #expect(try log.hardState().commit == (expectedLast == 8 ? 7 : 3), "group \(group)")
            #expect(try log.entries(in: 1..<(expectedLast + 1)) == Self.entries(1...expectedLast, group: group), "group \(group)")
        }
        if case .tearLastWrite = outcome {
            #expect(reopened.recoveryActions.map(\.kind) == [.tornTailCut])
        } else {
            #expect(reopened.recoveryActions.isEmpty)
        }
    }

    @Test func invalidPartRefusesTheWholeBatch() throws {
        let engine = try EngineFixtures.newEngine()
        var batch = WriteBatch()
        batch.append(Self.entries(1...2, group: 1), to: 1)
        // A gap: group 2 holds nothing, so an append at 5 is refused, and group 1's part with it.
        batch.append(Self.entries(5...5, group: 2), to: 2)
        let error = #expect(throws: StorageError.self) { try engine.write(batch, sync: true) }
        #expect(error?.code == .invalidArgument)
        #expect(try engine.log(for: 1).lastIndex() == 0)
        #expect(try engine.groupIDs() == [])
    }
}

/// The torn-versus-damage rule: a write cut short at the end of the last file is cut off and
/// reported; a bad record with an intact one after it, a record that reached the disk whole,
/// or anything bad in an earlier file, is damage and refused.
@Suite("Torn tails and damage")
struct TornAndDamageTests {
    /// An engine with three records (batches of two groups) in one file, closed; returns it
    /// and its file's path.
    static func closedEngine(fileSize: Int64 = 1 << 20, records: Int = 3) throws -> (LogEngine, String) {
        let engine = try EngineFixtures.newEngine(fileSize: fileSize)
        var random = SeededGenerator(seed: 7)
        for record in 0..<UInt64(records) {
            var batch = WriteBatch()
            for group in [1, 2] as [UInt64] {
                // Data without zero bytes, so no sector of a record reads as zeros.
                let entries = (1...UInt64(3)).map { offset in
                    Entry(term: 1, index: record * 3 + offset, data: (0..<300).map { _ in UInt8(1 + random.next() % 255) })
                }
                batch.save(hardState: HardState(term: 1, vote: 1, commit: record * 3 + 1), entries: entries, for: group)
            }
            try engine.write(batch, sync: true)
        }
        try engine.close()
        return (engine, "/data/engine/0000000000000001.rlog")
    }

    static func reopen(_ engine: LogEngine) throws -> LogEngine {
        try LogEngine(directory: engine.directory, options: engine.options)
    }

    @Test func recordCutShortAtTheEndIsCutAndReported() throws {
        let (engine, path) = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let bytes = try #require(fileSystem.contents(of: path))
        // The first record again, cut in the middle: its length runs past the end of the file.
        let record = Array(bytes[40..<1000])
        fileSystem.setContents(of: path, to: bytes + record)
        let reopened = try Self.reopen(engine)
        let action = try #require(reopened.recoveryActions.first)
        #expect(action.kind == .tornTailCut)
        #expect(action.path == path)
        #expect(action.offset == Int64(bytes.count))
        #expect(fileSystem.contents(of: path) == bytes)
        #expect(try reopened.log(for: 2).lastIndex() == 9)
    }

    /// The first record of a log file (after its 40-byte header) as a write cut short leaves
    /// it: its length and checksum whole, the second half of its bytes never written (zeros).
    static func tornCopyOfFirstRecord(in bytes: [UInt8]) -> [UInt8] {
        let length = Int(bytes[40]) | Int(bytes[41]) << 8 | Int(bytes[42]) << 16
        var torn = Array(bytes[40..<(48 + length)])
        for position in (torn.count / 2)..<torn.count { torn[position] = 0 }
        return torn
    }

    @Test func recordWhoseRestIsZerosIsTorn() throws {
        let (engine, path) = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let bytes = try #require(fileSystem.contents(of: path))
        fileSystem.setContents(of: path, to: bytes + Self.tornCopyOfFirstRecord(in: bytes))
        let reopened = try Self.reopen(engine)
        #expect(reopened.recoveryActions.map(\.kind) == [.tornTailCut])
        #expect(try reopened.log(for: 1).entries(from: 1).count == 9)
    }

    /// The search for an intact record after a bad one once checked the rest of the file for
    /// zeros at every aligned offset: over the zeros written ahead of the records (a megabyte
    /// or more) opening never finished. The time limit turns such a hang into a failure.
    @Test(.timeLimit(.minutes(1))) func tornRecordBeforeALongZeroTailIsCutInOnePass() throws {
        let (engine, path) = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let bytes = try #require(fileSystem.contents(of: path))
        fileSystem.setContents(of: path, to: bytes + Self.tornCopyOfFirstRecord(in: bytes) + [UInt8](repeating: 0, count: 8 << 20))
        let reopened = try Self.reopen(engine)
        #expect(reopened.recoveryActions.map(\.kind) == [.tornTailCut])
        #expect(reopened.recoveryActions.first?.offset == Int64(bytes.count))
        #expect(try reopened.log(for: 1).entries(from: 1).count == 9)
    }

    @Test func badRecordFollowedByAnIntactOneIsDamage() throws {
        let (engine, path) = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        var bytes = try #require(fileSystem.contents(of: path))
        bytes[200] ^= 0x01
        fileSystem.setContents(of: path, to: bytes)
        let error = #expect(throws: StorageError.self) { try Self.reopen(engine) }
        #expect(error?.isDamage == true)
        #expect(error?.path == path)
        #expect(error?.offset == 40)
        // Nothing was cut.
        #expect(fileSystem.contents(of: path) == bytes)
    }

    @Test func damagedLengthWordFollowedByIntactRecordsIsDamage() throws {
        let (engine, path) = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        var bytes = try #require(fileSystem.contents(of: path))
        // The first record's length now runs past the end of the file.
        bytes[43] = 0x10
        fileSystem.setContents(of: path, to: bytes)
        let error = #expect(throws: StorageError.self) { try Self.reopen(engine) }
        #expect(error?.isDamage == true)
        #expect(error?.offset == 40)
    }

    @Test func lastRecordDamagedAfterReachingTheDiskIsDamage() throws {
        let (engine, path) = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        var bytes = try #require(fileSystem.contents(of: path))
        // A flipped bit in the middle of the last record, nothing after it.
        bytes[bytes.count - 500] ^= 0x40
        fileSystem.setContents(of: path, to: bytes)
        let error = #expect(throws: StorageError.self) { try Self.reopen(engine) }
        #expect(error?.code == .crcMismatch)
        #expect(error?.path == path)
    }

    @Test func anyBadRecordInAnEarlierFileIsDamage() throws {
        // Small files: each batch goes to a file of its own.
        let (engine, path) = try Self.closedEngine(fileSize: 2048, records: 3)
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        #expect(fileSystem.files(under: "/data/engine").filter { $0.hasSuffix(".rlog") }.count == 3)
        var bytes = try #require(fileSystem.contents(of: path))
        // The last bytes of the first file's only record: in the last file this would be a
        // torn write, here it is damage.
        for position in (bytes.count - 100)..<bytes.count { bytes[position] = 0 }
        fileSystem.setContents(of: path, to: bytes)
        let error = #expect(throws: StorageError.self) { try Self.reopen(engine) }
        #expect(error?.isDamage == true)
        #expect(error?.path == path)
    }

    /// Sealed files are checked on the other core while earlier ones are replayed: whichever
    /// side gets to a file first, damage in any of them is reported the same way, and an
    /// intact engine opens the same way.
    @Test func checksumsCheckedOnTheOtherCoreChangeNothing() throws {
        let (engine, _) = try Self.closedEngine(fileSize: 2048, records: 6)
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let files = fileSystem.files(under: "/data/engine").filter { $0.hasSuffix(".rlog") }.sorted()
        #expect(files.count == 6)
        for _ in 0..<20 {
            let reopened = try Self.reopen(engine)
            #expect(try reopened.log(for: 2).entries(in: 1..<19).count == 18)
            try reopened.close()
        }
        var bytes = try #require(fileSystem.contents(of: files[3]))
        bytes[300] ^= 0x20
        fileSystem.setContents(of: files[3], to: bytes)
        for _ in 0..<20 {
            let error = #expect(throws: StorageError.self) { try Self.reopen(engine) }
            #expect(error?.code == .crcMismatch)
            #expect(error?.path == files[3])
            #expect(error?.offset == 40)
        }
    }

    @Test func entryDamagedAfterOpeningIsReportedWhenRead() throws {
        let (engine, path) = try Self.closedEngine()
        let reopened = try Self.reopen(engine)
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        var bytes = try #require(fileSystem.contents(of: path))
        bytes[300] ^= 0x08
        fileSystem.setContents(of: path, to: bytes)
        let error = #expect(throws: StorageError.self) { try reopened.log(for: 1).entries(in: 1..<4) }
        #expect(error?.code == .crcMismatch)
        #expect(error?.path == path)
    }
}

@Suite("Index memory")
struct IndexMemoryTests {
    @Test func tenThousandEntriesTakeAtMostSixteenBytesEach() throws {
        let engine = try EngineFixtures.newEngine(fileSize: 64 << 20)
        for start in stride(from: UInt64(1), through: 10_000, by: 100) {
            var batch = WriteBatch()
            batch.append((start..<(start + 100)).map { Entry(term: 1 + $0 / 3000, index: $0, data: Array(repeating: 7, count: 64)) }, to: 1)
            batch.append([Entry(term: 1, index: start / 100 + 1, data: [1])], to: 2)
            try engine.write(batch, sync: false)
        }
        let written = try engine.indexStatistics(for: 1)
        #expect(written.entries == 10_000)
        #expect(Double(written.bytes) / Double(written.entries) <= 16, "\(written.bytes) bytes for \(written.entries) entries")
        try engine.close()
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        let recovered = try reopened.indexStatistics(for: 1)
        #expect(recovered.entries == 10_000)
        #expect(Double(recovered.bytes) / Double(recovered.entries) <= 16, "\(recovered.bytes) bytes for \(recovered.entries) entries after reopening")
        #expect(try reopened.log(for: 1).entries(in: 9_999..<10_001).map(\.term) == [4, 4])
    }
}

/// Records whose checksum matches but whose body is hostile (every byte of a real body changed
/// in turn, the checksum fixed up): opening either rebuilds the groups or throws a
/// `StorageError`; it never traps and never allocates what a count claims.
@Suite("Hostile record bodies")
struct HostileBodyTests {
    @Test func everyChangedByteOpensOrThrows() throws {
        let engine = try EngineFixtures.newEngine()
        var batch = WriteBatch()
        batch.applySnapshot(SnapshotMetadata(confState: ConfState(voters: [1, 2], learners: [3]), index: 4, term: 2), to: 1)
        batch.save(hardState: HardState(term: 2, vote: 1, commit: 5), entries: [Entry(term: 2, index: 5, data: [1, 2, 3]), Entry(term: 2, index: 6)], for: 1)
        batch.recordSnapshot(SnapshotMetadata(index: 5, term: 2), for: 1)
        batch.append([Entry(term: 1, index: 1, type: .confChange, data: [])], to: 2)
        try engine.write(batch, sync: true)
        try engine.close()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let path = "/data/engine/0000000000000001.rlog"
        let original = try #require(fileSystem.contents(of: path))
        let length = Int(original.littleEndian(at: 40))
        var outcomes = (opened: 0, refused: 0)
        for position in 48..<(48 + length) {
            for value in [0x00, 0x7F, 0x80, 0xFF] as [UInt8] where original[position] != value {
                var bytes = original
                bytes[position] = value
                let crc = CRC32C.checksum(Array(bytes[48..<(48 + length)]))
                for byte in 0..<4 { bytes[44 + byte] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(byte))) }
                fileSystem.setContents(of: path, to: bytes)
                do {
                    let reopened = try LogEngine(directory: engine.directory, options: engine.options)
                    for group in try reopened.groupIDs() {
                        let log = reopened.log(for: group)
                        _ = try? log.entries(in: log.firstIndex()..<(log.lastIndex() + 1))
                    }
                    try reopened.close()
                    outcomes.opened += 1
                } catch {
                    outcomes.refused += 1
                }
            }
        }
        #expect(outcomes.refused > 0)
        #expect(outcomes.opened + outcomes.refused > 4 * length / 2)
    }
}

extension HostileBodyTests {
    /// Parts are applied as they are decoded (a list of them took some 120 times the body):
    /// a record of thousands of parts, the last one broken, is still refused as a whole, at the
    /// broken part's offset, and nothing of it is opened.
    @Test func manyPartsThenABrokenOneRefuseTheRecord() throws {
        let engine = try EngineFixtures.newEngine(fileSize: 1 << 20)
        var batch = WriteBatch()
        batch.append([Entry(term: 1, index: 1, data: [1])], to: 1)
        try engine.write(batch, sync: true)
        try engine.close()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let path = "/data/engine/0000000000000001.rlog"
        let original = try #require(fileSystem.contents(of: path))
        // kind, 2,000 parts: 1,999 removals of group 5 (two bytes each), then group 5 with
        // flags that mix base with others.
        var body: [UInt8] = [1, 0xD0, 0x0F]
        for _ in 0..<1_999 { body += [5, 0x01] }
        body += [5, 0x81]
        let crc = CRC32C.checksum(body)
        var record = (0..<4).map { UInt8(truncatingIfNeeded: body.count >> (8 * $0)) } + (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt32($0))) } + body
        record += [UInt8](repeating: 0, count: (8 - record.count % 8) % 8)
        fileSystem.setContents(of: path, to: original + record)
        let error = #expect(throws: StorageError.self) { try LogEngine(directory: engine.directory, options: engine.options) }
        #expect(error?.code == .corrupt)
        #expect(error?.path == path)
        // Just past the last part's flags byte, the end of the body (which starts 8 bytes into the record).
        #expect(error?.offset == Int64(original.count + 8 + body.count))
        #expect(fileSystem.contents(of: path) == original + record)
    }
}

extension Array where Element == UInt8 {
    /// The u32 LE at `offset`.
    func littleEndian(at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(self[offset + $1]) << (8 * UInt32($1)) }
    }
}
