import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization
import Testing

@Suite("SyncHookFileSystem")
struct SyncHookFileSystemTests {
    let base = FaultInjectingFileSystem()

    init() throws {
        try base.createDirectory("/d", permissions: 0o700)
        try base.syncDirectory("/")
    }

    func write(_ text: String, to path: String, on fs: any FileSystem, sync: (any StorageFile) throws -> Void) throws {
        let file = try fs.open(path, [.read, .write, .create], permissions: 0o600)
        try Array(text.utf8).withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
        try sync(file)
        try file.close()
    }

    @Test func theHookSeesEverySyncAndPerformsIt() throws {
        let seen = Mutex<[String]>([])
        let fs = SyncHookFileSystem(base: base) { kind, path, perform throws(StorageError) in
            seen.withLock { $0.append("\(kind) \(path)") }
            try perform()
        }
        try write("a", to: "/d/a", on: fs) { try $0.sync() }
        try write("b", to: "/d/b", on: fs) { try $0.syncData() }
        try fs.syncDirectory("/d")
        #expect(seen.withLock { $0 } == ["file /d/a", "data /d/b", "directory /d"])
        base.crash(.dropUnsynced)
        #expect(base.contents(of: "/d/a") == Array("a".utf8))
        #expect(base.contents(of: "/d/b") == Array("b".utf8))
    }

    @Test func withoutSyncsNothingBecomesDurable() throws {
        let fs = SyncHookFileSystem.withoutSyncs(base: base)
        try write("a", to: "/d/a", on: fs) { try $0.sync() }
        try fs.syncDirectory("/d")
        #expect(base.contents(of: "/d/a") == Array("a".utf8))
        base.crash(.dropUnsynced)
        #expect(base.contents(of: "/d/a") == nil)
    }

    @Test func whatTheHookThrowsReachesTheCaller() throws {
        let fs = SyncHookFileSystem(base: base) { _, path, _ throws(StorageError) in
            throw StorageError(.io, "injected", path: path, errno: 5)
        }
        let file = try fs.open("/d/a", [.read, .write, .create], permissions: 0o600)
        let error = #expect(throws: StorageError.self) { try file.syncData() }
        #expect(error?.errno == 5)
        #expect(error?.path == "/d/a")
        try file.close()
    }
}
