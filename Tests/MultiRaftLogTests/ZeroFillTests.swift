import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Testing

/// The zeros the engine writes ahead of its records: the current file holds them, sealing and
/// closing cut them, and the option turns them off.
@Suite("Zeros ahead of the records")
struct ZeroFillTests {
    static let path = EngineFixtures.directory + "/0000000000000001.rlog"

    static func write(_ engine: LogEngine) throws {
        var batch = WriteBatch()
        batch.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 1, data: [1, 2, 3])], for: 1)
        try engine.write(batch, sync: true)
    }

    @Test func currentFileHoldsZerosUntilClosed() throws {
        let fileSystem = FaultInjectingFileSystem()
        let options = LogEngine.Options(fileSystem: fileSystem, fileSize: 64 * 1024, zeroFillAhead: 16 * 1024)
        let engine = try LogEngine(directory: EngineFixtures.directory, options: options)
        try Self.write(engine)
        let written = try #require(fileSystem.contents(of: Self.path))
        // Zeros up to the window after the record, and nothing but zeros after it.
        #expect(written.count >= 16 * 1024)
        let end = written.lastIndex { $0 != 0 }.map { $0 + 1 } ?? 0
        #expect(end < 200)
        try engine.close()
        let closed = try #require(fileSystem.contents(of: Self.path))
        #expect(closed.count < 200)
        #expect(Array(written.prefix(closed.count)) == closed)
        let reopened = try LogEngine(directory: EngineFixtures.directory, options: options)
        #expect(try reopened.log(for: 1).entries(in: 1..<2).first?.data == [1, 2, 3])
        #expect(reopened.recoveryActions.isEmpty)
        try reopened.close()
    }

    @Test func zeroTurnsItOff() throws {
        let fileSystem = FaultInjectingFileSystem()
        let engine = try LogEngine(
            directory: EngineFixtures.directory, options: LogEngine.Options(fileSystem: fileSystem, fileSize: 64 * 1024, zeroFillAhead: 0))
        try Self.write(engine)
        let written = try #require(fileSystem.contents(of: Self.path))
        // The file ends with the record: at most its padding to 8 bytes is zeros.
        let end = written.lastIndex { $0 != 0 }.map { $0 + 1 } ?? 0
        #expect(written.count - end < 8)
        #expect(written.count % 8 == 0)
        try engine.close()
        #expect(fileSystem.contents(of: Self.path) == written)
    }

    @Test func negativeIsRefused() {
        let options = LogEngine.Options(fileSystem: FaultInjectingFileSystem(), zeroFillAhead: -1)
        let error = #expect(throws: StorageError.self) { try LogEngine(directory: EngineFixtures.directory, options: options) }
        #expect(error?.code == .invalidArgument)
    }
}
