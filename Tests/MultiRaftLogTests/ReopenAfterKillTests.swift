import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Synchronization
import Testing

/// An engine opened after its process was killed reads records that may be only in the page
/// cache; what it then reports as durable must survive a power failure.
@Suite("Engine reopened after its process was killed")
struct ReopenAfterKillTests {
    @Test func recordsReadBackAreDurableBeforeASyncSaysSo() async throws {
        let fileSystem = FaultInjectingFileSystem()
        // Without zeros written ahead, whose cut at opening fsyncs the file anyway.
        let options = LogEngine.Options(fileSystem: fileSystem, fileSize: 64 * 1024, zeroFillAhead: 0)
        let killed = try LogEngine(directory: EngineFixtures.directory, options: options)
        var batch = WriteBatch()
        batch.append((1...3).map { Entry(term: 1, index: $0, data: [UInt8($0)]) }, to: 1)
        batch.setHardState(HardState(term: 1, vote: 1, commit: 3), for: 1)
        try killed.write(batch, sync: false)
        // The process dies before anything synced the batch.
        fileSystem.killProcess()

        let reopened = try LogEngine(directory: EngineFixtures.directory, options: options)
        #expect(try reopened.log(for: 1).lastIndex() == 3)
        try await reopened.syncDurably()
        try reopened.sync()
        fileSystem.crash(.dropUnsynced)

        let afterPowerLoss = try LogEngine(directory: EngineFixtures.directory, options: options)
        #expect(try afterPowerLoss.log(for: 1).lastIndex() == 3, "entries a sync reported durable were lost")
        #expect(try afterPowerLoss.log(for: 1).hardState() == HardState(term: 1, vote: 1, commit: 3))
        withExtendedLifetime(killed) {}
    }

    @Test func openingMakesTheNamesItFoundDurable() throws {
        let directorySyncs = Mutex(0)
        let fileSystem = FaultInjectingFileSystem()
        let hooked = SyncHookFileSystem(base: fileSystem) { kind, path, perform throws(StorageError) in
            if kind == .directory && path == EngineFixtures.directory { directorySyncs.withLock { $0 += 1 } }
            try perform()
        }
        let options = LogEngine.Options(fileSystem: hooked, fileSize: 64 * 1024)
        try LogEngine(directory: EngineFixtures.directory, options: options).close()
        directorySyncs.withLock { $0 = 0 }
        // A process killed between a new file's rename and the directory's fsync leaves a name
        // the next open finds but a power failure would take away.
        let reopened = try LogEngine(directory: EngineFixtures.directory, options: options)
        #expect(directorySyncs.withLock { $0 } >= 1)
        try reopened.close()
    }
}
