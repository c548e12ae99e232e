import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Testing

/// File numbers from a damaged or forged directory near the end of `UInt64`: opening and
/// inspecting report them as damage instead of trapping on the ranges they make.
@Suite("Engine file numbers at the end of UInt64")
struct HostileNumberTests {
    /// `value`'s `count` low bytes, least significant first.
    static func littleEndian(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// A log file header as the format describes it: magic, version 2, reserved, file number,
    /// previous size, CRC32C of the 32 bytes before, 4 zero bytes.
    static func header(fileNumber: UInt64) -> [UInt8] {
        var bytes = Array("RAFTMLOG".utf8) + littleEndian(2, count: 4) + littleEndian(0, count: 4)
        bytes += littleEndian(fileNumber, count: 8) + littleEndian(0, count: 8)
        return bytes + littleEndian(UInt64(CRC32C.checksum(bytes)), count: 4) + littleEndian(0, count: 4)
    }

    static func expectRefused(_ fileSystem: FaultInjectingFileSystem) {
        let error = #expect(throws: StorageError.self) {
            try LogEngine(directory: EngineFixtures.directory, options: EngineFixtures.options(fileSystem))
        }
        #expect(error?.code == .corrupt, "\(String(describing: error))")
        let inspection = try? LogEngine.inspect(directory: EngineFixtures.directory, fileSystem: fileSystem)
        #expect(inspection == nil || inspection?.damage != nil)
    }

    @Test func aLockFileRecordingTheLargestNumber() throws {
        let engine = try EngineFixtures.newEngine()
        try engine.log(for: 1).save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 1)])
        try engine.close()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        var record = Self.littleEndian(.max, count: 8)
        record += Self.littleEndian(UInt64(CRC32C.checksum(record)), count: 4) + Self.littleEndian(0, count: 4)
        fileSystem.setContents(of: EngineFixtures.directory + "/LOCK", to: record)
        Self.expectRefused(fileSystem)
    }

    @Test(arguments: [UInt64(1) << 63 + 1, .max])
    func aLoneFileWithAHugeNumber(_ number: UInt64) throws {
        let fileSystem = FaultInjectingFileSystem()
        try LogEngine(directory: EngineFixtures.directory, options: EngineFixtures.options(fileSystem)).close()
        try fileSystem.removeFile(EngineFixtures.directory + "/0000000000000001.rlog")
        fileSystem.setContents(of: EngineFixtures.directory + "/LOCK", to: [])
        let name = String(number, radix: 16)
        let path = EngineFixtures.directory + "/" + String(repeating: "0", count: 16 - name.count) + name + ".rlog"
        try fileSystem.open(path, [.write, .create], permissions: 0o600).close()
        try fileSystem.syncDirectory(EngineFixtures.directory)
        fileSystem.setContents(of: path, to: Self.header(fileNumber: number))
        Self.expectRefused(fileSystem)
    }
}
