import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import TestSupport
import Testing

/// `LogEngine.inspect`: the same pass as opening, read-only. It rebuilds what opening rebuilds,
/// reports the cuts opening makes without making them, and never changes a byte.
@Suite("Read-only inspection")
struct InspectionTests {
    /// A closed engine on a simulated disk holding three groups (one compacted, one with a
    /// snapshot installed), written in batches across several small files.
    static func closedEngine() throws -> LogEngine {
        let engine = try EngineFixtures.newEngine(fileSize: 512)
        for index in UInt64(1)...30 {
            var batch = WriteBatch()
            for group in [1, 2] as [UInt64] {
                batch.save(hardState: HardState(term: 1, vote: group, commit: index), entries: [Entry(term: 1, index: index, data: Array("\(group)/\(index)".utf8))], for: group)
            }
            if index == 12 { batch.compact(2, through: 10) }
            if index == 20 { batch.applySnapshot(SnapshotMetadata(confState: ConfState(voters: [4]), index: 50, term: 3), to: 9) }
            try engine.write(batch, sync: false)
        }
        try engine.close()
        return engine
    }

    /// Every file under the engine's directory, with its bytes.
    static func disk(_ engine: LogEngine) throws -> [String: [UInt8]] {
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        var files: [String: [UInt8]] = [:]
        for path in fileSystem.files(under: engine.directory) { files[path] = fileSystem.contents(of: path) }
        return files
    }

    static func inspect(_ engine: LogEngine) throws -> EngineInspection {
        try LogEngine.inspect(directory: engine.directory, fileSystem: engine.options.fileSystem)
    }

    /// The last log file's path.
    static func lastFile(_ engine: LogEngine) throws -> String {
        try #require(try disk(engine).keys.filter { $0.hasSuffix(".rlog") }.sorted().last)
    }

    @Test func cleanEngineRebuildsWhatOpeningRebuilds() throws {
        let engine = try Self.closedEngine()
        let before = try Self.disk(engine)
        let inspection = try Self.inspect(engine)
        #expect(try Self.disk(engine) == before)
        #expect(inspection.isClean && inspection.housekeeping.isEmpty && inspection.hasLockFile)
        #expect(inspection.files.count > 3)
        #expect(inspection.files.map(\.size) == inspection.files.map { Int64(before[$0.path]?.count ?? -1) })

        let opened = try LogEngine(directory: engine.directory, options: engine.options)
        defer { try? opened.close() }
        #expect(try inspection.groups.map(\.id) == opened.groupIDs())
        #expect(inspection.groups.map(\.id) == [1, 2, 9])
        for group in inspection.groups {
            let log = opened.log(for: group.id)
            #expect(try group.firstIndex == log.firstIndex())
            #expect(try group.lastIndex == log.lastIndex())
            #expect(try group.hardState == log.hardState())
            #expect(try group.snapshotMarker == log.snapshotMarker())
            let statistics = try opened.indexStatistics(for: group.id)
            #expect(group.entryCount == statistics.entries)
            if group.entryCount > 0 {
                let range = group.firstIndex..<(group.lastIndex + 1)
                #expect(try inspection.entries(of: group.id, in: range) == log.entries(in: range))
            }
        }
        let compacted = try #require(inspection.groups.first { $0.id == 2 })
        #expect(compacted.boundary.index == 10 && compacted.entryCount == 20)
        let installed = try #require(inspection.groups.first { $0.id == 9 })
        #expect(installed.snapshotMarker.index == 50 && installed.snapshotMarker.confState?.voters == [4] && installed.entryCount == 0)
        // A page cut to a byte budget, and ranges the group does not hold.
        #expect(try inspection.entries(of: 1, in: 1..<31, maxBytes: 1).count == 1)
        #expect(throws: StorageError.self) { try inspection.entries(of: 2, in: 5..<12) }
        #expect(throws: StorageError.self) { try inspection.entries(of: 77, in: 1..<2) }
    }

    @Test func tornTailIsReportedAsOpeningWouldCutItAndLeftInPlace() throws {
        let engine = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let path = try Self.lastFile(engine)
        let bytes = try #require(fileSystem.contents(of: path))
        // The start of a record whose length runs past the end of the file.
        fileSystem.setContents(of: path, to: bytes + Array(bytes[40..<60]))
        let before = try Self.disk(engine)
        let inspection = try Self.inspect(engine)
        #expect(try Self.disk(engine) == before, "inspecting changed the disk")
        #expect(!inspection.isClean && inspection.damage == nil)
        #expect(inspection.groups.map(\.id) == [1, 2, 9])
        let reported = try #require(inspection.recoveryActions.first)
        #expect(reported.kind == .tornTailCut && reported.path == path && reported.offset == Int64(bytes.count) && reported.bytesRemoved == 20)

        let opened = try LogEngine(directory: engine.directory, options: engine.options)
        defer { try? opened.close() }
        #expect(opened.recoveryActions == inspection.recoveryActions)
        #expect(fileSystem.contents(of: path) == bytes)
    }

    @Test func zerosAfterTheLastRecordAndLeftoverFilesAreHousekeeping() throws {
        let engine = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let path = try Self.lastFile(engine)
        let bytes = try #require(fileSystem.contents(of: path))
        fileSystem.setContents(of: path, to: bytes + [UInt8](repeating: 0, count: 64))
        let leftover = engine.directory + "/00000000000000ff.rlog.tmp"
        let file = try fileSystem.open(leftover, [.write, .create], permissions: 0o600)
        try [1, 2, 3].withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
        try file.close()
        let before = try Self.disk(engine)
        let inspection = try Self.inspect(engine)
        #expect(try Self.disk(engine) == before, "inspecting changed the disk")
        #expect(inspection.isClean)
        #expect(inspection.housekeeping.map(\.kind) == [.temporaryFileRemoved, .zerosCut])
        #expect(inspection.housekeeping.last?.offset == Int64(bytes.count) && inspection.housekeeping.last?.bytes == 64)
        #expect(inspection.housekeeping.first?.path == leftover)

        let opened = try LogEngine(directory: engine.directory, options: engine.options)
        try opened.close()
        #expect(opened.recoveryActions.isEmpty)
        #expect(fileSystem.contents(of: path) == bytes)
        #expect(fileSystem.contents(of: leftover) == nil)
    }

    @Test func damageIsTheInspectionsAnswerNotAThrow() throws {
        let engine = try Self.closedEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        let path = engine.directory + "/0000000000000001.rlog"
        var bytes = try #require(fileSystem.contents(of: path))
        bytes[44] ^= 0x01
        fileSystem.setContents(of: path, to: bytes)
        let before = try Self.disk(engine)
        let inspection = try Self.inspect(engine)
        #expect(try Self.disk(engine) == before)
        let damage = try #require(inspection.damage)
        #expect(damage.isDamage && damage.path == path && damage.offset == 40)
        #expect(inspection.groups.isEmpty && !inspection.isClean)
        #expect(inspection.files.count > 3)
        // Opening refuses it the same way.
        let refused = #expect(throws: StorageError.self) { try LogEngine(directory: engine.directory, options: engine.options) }
        #expect(refused?.path == damage.path && refused?.offset == damage.offset)
    }

    @Test func directoriesWithoutFiles() throws {
        let fileSystem = FaultInjectingFileSystem()
        #expect(throws: StorageError.self) { try LogEngine.inspect(directory: "/nowhere", fileSystem: fileSystem) }
        try fileSystem.createDirectory("/empty", permissions: 0o700)
        let empty = try LogEngine.inspect(directory: "/empty", fileSystem: fileSystem)
        #expect(empty.files.isEmpty && empty.groups.isEmpty && empty.isClean && !empty.hasLockFile)
        #expect(empty.housekeeping.map(\.kind) == [.firstFileCreated])
        #expect(fileSystem.files(under: "/empty").isEmpty)
    }

    /// After a failed fsync the engine leaves a note; the inspection says opening will write
    /// the last file again, and opening does so and removes the note.
    @Test func failedSyncNoteIsListedAndOpeningClearsIt() throws {
        let engine = try EngineFixtures.newEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        fileSystem.inject(.syncFails())
        var batch = WriteBatch()
        batch.append([Entry(term: 1, index: 1, data: [1, 2, 3])], to: 1)
        #expect(throws: StorageError.self) { try engine.write(batch, sync: true) }
        fileSystem.removeFaults()
        try? engine.close()
        let note = engine.directory + "/tail-not-durable.tmp"
        #expect(fileSystem.fileExists(note))
        let inspection = try LogEngine.inspect(directory: engine.directory, fileSystem: fileSystem)
        // The zeros written ahead of the record are cut too: the failed engine did not close
        // cleanly.
        #expect(inspection.housekeeping.map(\.kind) == [.lastFileWrittenAgain, .zerosCut])
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(!fileSystem.fileExists(note))
        // What the page cache held is durable now.
        try reopened.close()
        fileSystem.crash(.dropUnsynced)
        let afterCrash = try LogEngine(directory: engine.directory, options: engine.options)
        #expect(try afterCrash.log(for: 1).entries(in: 1..<2) == [Entry(term: 1, index: 1, data: [1, 2, 3])])
    }
}
