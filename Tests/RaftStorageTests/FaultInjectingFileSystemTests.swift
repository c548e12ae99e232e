import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

@Suite("FaultInjectingFileSystem")
struct FaultInjectingFileSystemTests {
    let fs = FaultInjectingFileSystem()

    func write(_ text: String, to path: String, at offset: Int64 = 0, sync: Bool = false) throws {
        let file = try fs.open(path, [.read, .write, .create], permissions: 0o600)
        try Array(text.utf8).withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: offset) }
        if sync { try file.sync() }
        try file.close()
    }

    func text(_ path: String) -> String? { fs.contents(of: path).map { String(decoding: $0, as: UTF8.self) } }

    init() throws {
        try fs.createDirectory("/d", permissions: 0o700)
        try fs.syncDirectory("/")
    }

    @Test func unsyncedWritesAreLostAndSyncedOnesKept() throws {
        try write("durable", to: "/d/a", sync: true)
        try fs.syncDirectory("/d")
        try write("DURABLE+more", to: "/d/a")
        #expect(text("/d/a") == "DURABLE+more")
        fs.crash(.dropUnsynced)
        #expect(text("/d/a") == "durable")
    }

    @Test func aNewNameNeedsADirectorySync() throws {
        try write("x", to: "/d/new", sync: true)
        fs.crash()
        #expect(text("/d/new") == nil, "created and fsynced, but the directory was not")
        try write("y", to: "/d/new", sync: true)
        try fs.syncDirectory("/d")
        fs.crash()
        #expect(text("/d/new") == "y")
    }

    @Test func aDirectoryNeedsItsParentSynced() throws {
        try fs.createDirectory("/e", permissions: 0o700)
        try write("z", to: "/e/f", sync: true)
        try fs.syncDirectory("/e")
        fs.crash()
        #expect(try fs.info("/e") == nil)
    }

    @Test func renamesAndRemovalsRevertWithoutADirectorySync() throws {
        try write("old", to: "/d/target", sync: true)
        try fs.syncDirectory("/d")
        try write("new", to: "/d/tmp", sync: true)
        try fs.rename("/d/tmp", to: "/d/target")
        try fs.removeFile("/d/target")
        fs.crash()
        #expect(text("/d/target") == "old")
        #expect(text("/d/tmp") == nil)
        try fs.writeFileAtomically("/d/target", Array("atomic".utf8))
        fs.crash()
        #expect(text("/d/target") == "atomic")
    }

    @Test func keepUnsyncedKeepsEveryWrite() throws {
        try write("a", to: "/d/a", sync: true)
        try fs.syncDirectory("/d")
        try write("abc", to: "/d/a")
        fs.crash(.keepUnsynced)
        #expect(text("/d/a") == "abc")
    }

    @Test(arguments: [512, 4096])
    func aTornWriteKeepsOnlyWholeLeadingSectors(sectorSize: Int) throws {
        try write("", to: "/d/torn", sync: true)
        try fs.syncDirectory("/d")
        let file = try fs.open("/d/torn", .readWrite, permissions: 0)
        let bytes = [UInt8](repeating: 7, count: 4 * sectorSize + 100)
        try bytes.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
        fs.crash(.tearLastWrite(sectorSize: sectorSize))
        let contents = try #require(fs.contents(of: "/d/torn"))
        #expect(contents.count == 2 * sectorSize)
        #expect(contents.allSatisfy { $0 == 7 })
    }

    @Test func aCrashPointStopsTheFileSystemAfterTheNthOperation() throws {
        fs.crashAfter(operations: 2)
        try write("one", to: "/d/a")
        #expect(text("/d/a") == "one", "the second operation (the write) took effect")
        let error = #expect(throws: StorageError.self) { try fs.open("/d/a", .readWrite, permissions: 0) }
        #expect(error?.message.contains("simulated crash") == true)
        #expect(fs.isStopped)
        fs.crash()
        #expect(!fs.isStopped)
        #expect(text("/d/a") == nil)
        try write("after", to: "/d/b")
        #expect(fs.statistics.crashes == 1)
    }

    @Test func aFailedSyncLosesTheDataEvenIfALaterSyncSucceeds() throws {
        try write("v1", to: "/d/a", sync: true)
        try fs.syncDirectory("/d")
        fs.inject(.syncFails(pathContains: "/d/a"))
        let file = try fs.open("/d/a", .readWrite, permissions: 0)
        try Array("v2".utf8).withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
        let error = #expect(throws: StorageError.self) { try file.sync() }
        #expect(error?.errno == 5)
        try file.sync()
        #expect(text("/d/a") == "v2", "still visible before the crash")
        fs.crash()
        #expect(text("/d/a") == "v1")
        #expect(fs.statistics.faultsInjected == 1)
    }

    @Test func writesFailWithNoSpace() throws {
        fs.inject(.noSpace(pathContains: "full"))
        let error = #expect(throws: StorageError.self) { try write("x", to: "/d/full") }
        #expect(error?.errno == 28)
        fs.capacity = 10
        try write("0123456789", to: "/d/cap")
        let full = #expect(throws: StorageError.self) { try write("!", to: "/d/cap", at: 10) }
        #expect(full?.errno == 28)
        let file = try fs.open("/d/cap", .readWrite, permissions: 0)
        #expect(throws: StorageError.self) { try file.preallocate(to: 64) }
        #expect(text("/d/cap") == "0123456789")
    }

    @Test func readsFailWithEIO() throws {
        try write("data", to: "/d/a", sync: true)
        fs.inject(.readFails(pathContains: "/d/a"))
        let error = #expect(throws: StorageError.self) { try fs.readFile("/d/a") }
        #expect(error?.errno == 5)
        #expect(try fs.readFile("/d/a") == Array("data".utf8))
    }

    @Test func locksConflictUntilClosedOrCrashed() throws {
        try write("", to: "/d/l")
        try fs.syncDirectory("/d")
        let first = try fs.open("/d/l", .readWrite, permissions: 0)
        let second = try fs.open("/d/l", .readWrite, permissions: 0)
        try first.lock(wait: false)
        let error = #expect(throws: StorageError.self) { try second.lock(wait: false) }
        #expect(error?.code == .locked)
        try first.close()
        try second.lock(wait: false)
        fs.crash(.keepUnsynced)
        let third = try fs.open("/d/l", .readWrite, permissions: 0)
        try third.lock(wait: false)
    }
}

@Suite("FaultInjectingFileSystem crash outcomes")
struct FaultInjectingCrashOutcomeTests {
    let fs = FaultInjectingFileSystem()

    init() throws {
        try fs.createDirectory("/d", permissions: 0o700)
        try fs.syncDirectory("/")
    }

    func file(_ path: String) throws -> any StorageFile {
        try fs.open(path, [.read, .write, .create], permissions: 0o600)
    }

    func write(_ bytes: [UInt8], to file: any StorageFile, at offset: Int64 = 0) throws {
        try bytes.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: offset) }
    }

    @Test func keepUnsyncedKeepsNamesToo() throws {
        let a = try file("/d/a")
        try write([1, 2, 3], to: a)
        try fs.rename("/d/a", to: "/d/b")
        fs.crash(.keepUnsynced)
        #expect(fs.contents(of: "/d/b") == [1, 2, 3])
        #expect(fs.contents(of: "/d/a") == nil)
    }

    @Test func aTearHitsTheLatestWriteOfAnyFile() throws {
        let a = try file("/d/a"), b = try file("/d/b")
        try fs.syncDirectory("/d")
        try write([UInt8](repeating: 9, count: 2048), to: b)
        try b.truncate(to: 4096)  // a later change of the same file is lost with the tear
        try write([UInt8](repeating: 7, count: 2048), to: a)
        try a.preallocate(to: 8192)  // a resize after the write does not make it the latest
        fs.crash(.tearLastWrite(sectorSize: 512))
        #expect(fs.contents(of: "/d/a") == [UInt8](repeating: 7, count: 1024))
        #expect(fs.contents(of: "/d/b") == [])
    }

    @Test func aScrambleKeepsSomeSectorsAndIsReproducible() throws {
        func run(seed: UInt64) throws -> [UInt8]? {
            let fs = FaultInjectingFileSystem()
            try fs.createDirectory("/d", permissions: 0o700)
            try fs.syncDirectory("/")
            let f = try fs.open("/d/s", [.read, .write, .create], permissions: 0o600)
            try f.sync()
            try fs.syncDirectory("/d")
            try [UInt8](repeating: 5, count: 64 * 512).withRawBytes { (raw) throws(StorageError) in try f.write(raw, at: 0) }
            fs.crash(.scramble(seed: seed, sectorSize: 512))
            return fs.contents(of: "/d/s")
        }
        let first = try #require(try run(seed: 42))
        #expect(try run(seed: 42) == first)
        let sectors = stride(from: 0, to: first.count, by: 512).map { first[$0..<min($0 + 512, first.count)] }
        #expect(sectors.allSatisfy { $0.allSatisfy { $0 == 5 } || $0.allSatisfy { $0 == 0 } }, "whole sectors only")
        let kept = sectors.filter { $0.first == 5 }.count
        #expect(kept > 0 && kept < 64)
    }

    @Test func permissionsAreRecorded() throws {
        _ = try fs.open("/d/f", [.write, .create], permissions: 0o640)
        try fs.createDirectory("/d/sub", permissions: 0o750)
        #expect(fs.permissions(of: "/d/f") == 0o640)
        #expect(fs.permissions(of: "/d/sub") == 0o750)
        #expect(fs.permissions(of: "/d") == 0o700)
        #expect(fs.files(under: "/") == ["/d/f"])
    }
}
