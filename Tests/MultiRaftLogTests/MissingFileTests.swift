import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Testing

/// A log file lost from the directory (deleted by hand, a bad copy) loses every group whose
/// records only it held, or the last writes. Opening must say so instead of coming back without
/// them; files a purge removed are not missing.
@Suite("Log files missing")
struct MissingFileTests {
    /// Group 1's one entry fills most of file 1; group 2 writes from file 2 on, so no record
    /// after file 1 mentions group 1.
    static func engineWithLoneGroupInFirstFile() throws -> LogEngine {
        let engine = try EngineFixtures.newEngine(fileSize: 8 * 1024)
        try engine.log(for: 1).save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 1, data: Array(repeating: 7, count: 7000))])
        for index in UInt64(1)...20 {
            try engine.log(for: 2).save(
                hardState: HardState(term: 1, vote: 1, commit: index), entries: [Entry(term: 1, index: index, data: Array(repeating: 8, count: 1500))])
        }
        return engine
    }

    static func remove(_ number: Int, of engine: LogEngine) throws {
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let hex = String(number, radix: 16)
        try fileSystem.removeFile(fileSystem.join(engine.directory, String(repeating: "0", count: 16 - hex.count) + hex + ".rlog"))
        try fileSystem.syncDirectory(engine.directory)
    }

    @Test func firstFileOfAnEngineNeverPurgedIsMissing() throws {
        let engine = try Self.engineWithLoneGroupInFirstFile()
        try engine.close()
        try Self.remove(1, of: engine)
        let error = #expect(throws: StorageError.self) { try LogEngine(directory: engine.directory, options: engine.options) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("log file 0000000000000001.rlog is missing") == true, "\(String(describing: error))")
        #expect(error?.path == engine.directory)
        // An inspection (what `raftstore verify` reads) says the same.
        let inspection = try LogEngine.inspect(directory: engine.directory, fileSystem: engine.options.fileSystem)
        #expect(inspection.damage?.message.contains("log file 0000000000000001.rlog is missing") == true, "\(String(describing: inspection.damage))")
    }

    @Test func oldestFileLeftByPurgesIsMissing() throws {
        let engine = try PurgeTests.engineWithLaggard()
        let report = try engine.purge(budget: 1 << 20)
        #expect(!report.filesRemoved.isEmpty)
        // More files after the purge's.
        for index in UInt64(201)...260 {
            try engine.log(for: PurgeTests.busy).save(
                hardState: HardState(term: 1, vote: 2, commit: index), entries: PurgeTests.entries(index...index, group: PurgeTests.busy))
        }
        let left = try PurgeTests.logFiles(engine)
        #expect(left.count >= 3)
        try engine.close()
        // What the purges left opens whole.
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try reopened.log(for: PurgeTests.laggard).lastIndex() == 3)
        #expect(try reopened.log(for: PurgeTests.busy).lastIndex() == 260)
        try reopened.close()

        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        try fileSystem.removeFile(left[0])
        try fileSystem.syncDirectory(engine.directory)
        let error = #expect(throws: StorageError.self) { try LogEngine(directory: engine.directory, options: engine.options) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("missing: no purge record found accounts for them") == true, "\(String(describing: error))")
        // The file removed is named (as the last of those missing, when the purge record
        // naming the files before it as removed was in it).
        let removedName = String(left[0].split(separator: "/").last ?? "")
        #expect(error?.message.contains(removedName) == true, "\(String(describing: error))")
    }

    @Test func purgeRecordsAreDurableBeforeTheirFilesGo() throws {
        let engine = try PurgeTests.engineWithLaggard()
        _ = try engine.purge(budget: 1 << 20)
        // A power failure right after the purge: every removal and its record survive together.
        try EngineFixtures.fileSystem(of: engine).crash(.dropUnsynced)
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        try PurgeTests.expectIntact(reopened, "after a crash")
    }

    /// Version 1 wrote no purge records: a directory whose oldest file is of version 1 cannot
    /// tell a lost file from a purged one, and opens as version 1 did.
    @Test func versionOneDirectoriesOpenAsBefore() throws {
        let engine = try Self.engineWithLoneGroupInFirstFile()
        try engine.close()
        try Self.remove(1, of: engine)
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        for path in fileSystem.files(under: engine.directory) where path.hasSuffix(".rlog") {
            let file = try fileSystem.open(path, .readWrite, permissions: 0o600)
            var header = [UInt8](repeating: 0, count: 40)
            _ = try header.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
            header[8] = 1
            let checksum = CRC32C.checksum(Array(header[0..<32]))
            for byte in 0..<4 { header[32 + byte] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(byte))) }
            try header.withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
            try file.close()
        }
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try reopened.groupIDs() == [2])
        #expect(try reopened.log(for: 2).lastIndex() == 20)
    }

    @Test func newestFileIsMissing() throws {
        let engine = try Self.engineWithLoneGroupInFirstFile()
        try engine.close()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let files = fileSystem.files(under: engine.directory).filter { $0.hasSuffix(".rlog") }.sorted()
        #expect(files.count == 5)
        try fileSystem.removeFile(files[4])
        try fileSystem.syncDirectory(engine.directory)
        let error = #expect(throws: StorageError.self) { try LogEngine(directory: engine.directory, options: engine.options) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("log file 0000000000000005.rlog is missing") == true, "\(String(describing: error))")
        let inspection = try LogEngine.inspect(directory: engine.directory, fileSystem: engine.options.fileSystem)
        #expect(inspection.damage?.message.contains("log file 0000000000000005.rlog is missing") == true)
    }

    @Test func everyFileIsMissing() throws {
        let engine = try Self.engineWithLoneGroupInFirstFile()
        try engine.close()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        for path in fileSystem.files(under: engine.directory) where path.hasSuffix(".rlog") { try fileSystem.removeFile(path) }
        try fileSystem.syncDirectory(engine.directory)
        // Not a new, empty engine: it wrote five files.
        let error = #expect(throws: StorageError.self) { try LogEngine(directory: engine.directory, options: engine.options) }
        #expect(error?.message.contains("log files 0000000000000001.rlog to 0000000000000005.rlog are missing") == true, "\(String(describing: error))")
        #expect(fileSystem.files(under: engine.directory).filter { $0.hasSuffix(".rlog") }.isEmpty, "opening created nothing")
    }

    /// A lock file written before it recorded the newest file is brought up to date by the
    /// next open, which then checks.
    @Test func emptyLockFileIsFilledIn() throws {
        let engine = try Self.engineWithLoneGroupInFirstFile()
        try engine.close()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let lock = try fileSystem.open(fileSystem.join(engine.directory, "LOCK"), .readWrite, permissions: 0o600)
        try lock.truncate(to: 0)
        try lock.sync()
        try lock.close()
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try reopened.log(for: 2).lastIndex() == 20)
        try reopened.close()
        let files = fileSystem.files(under: engine.directory).filter { $0.hasSuffix(".rlog") }.sorted()
        try fileSystem.removeFile(files[files.count - 1])
        #expect(throws: StorageError.self) { try LogEngine(directory: engine.directory, options: engine.options) }
    }
}
