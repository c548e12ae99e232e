import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
import TestSupport
import Testing

@Suite("Group commit")
struct GroupCommitTests {
    @Test func concurrentDurableWritesSurviveACrash() async throws {
        let engine = try EngineFixtures.newEngine(fileSize: 16 * 1024)
        let groups: [UInt64] = Array(1...8)
        try await withThrowingTaskGroup(of: [UInt64].self) { tasks in
            for group in groups {
                tasks.addTask {
                    var indexes: [UInt64] = []
                    for round in 0..<20 {
                        indexes.append(try await engine.log(for: group).appendDurably(term: 1, data: Array("\(group)-\(round)".utf8)))
                    }
                    return indexes
                }
            }
            for try await indexes in tasks { #expect(indexes == Array(1...20)) }
        }
        var batch = WriteBatch()
        for group in groups { batch.setHardState(HardState(term: 1, vote: 1, commit: 20), for: group) }
        try await engine.writeDurably(batch)

        // Everything acknowledged was durable: a power failure loses none of it.
        try EngineFixtures.fileSystem(of: engine).crash(.dropUnsynced)
        let reopened = try LogEngine(directory: engine.directory, options: engine.options)
        for group in groups {
            let log = reopened.log(for: group)
            #expect(try log.entries(in: 1..<21).map { $0.data.map { String(decoding: $0, as: UTF8.self) } } == (0..<20).map { "\(group)-\($0)" })
            #expect(try log.hardState() == HardState(term: 1, vote: 1, commit: 20))
        }
    }

    @Test func failedSyncFailsTheWaitersAndLaterWrites() async throws {
        let engine = try EngineFixtures.newEngine()
        let fileSystem = try EngineFixtures.fileSystem(of: engine)
        fileSystem.inject(.syncFails(pathContains: ".rlog"))
        var batch = WriteBatch()
        batch.append([Entry(term: 1, index: 1)], to: 1)
        await #expect(throws: StorageError.self) { try await engine.writeDurably(batch) }
        let later = #expect(throws: StorageError.self) { try engine.write(batch, sync: true) }
        #expect(later?.code == .closed)
    }

    @Test func aSyncUnderTheLockWaitsForTheGroupCommitSyncAndFailsWithIt() async throws {
        let gated = GatedFileSystem()
        let engine = try LogEngine(directory: EngineFixtures.directory, options: LogEngine.Options(fileSystem: gated.fileSystem, fileSize: 64 * 1024))
        var first = WriteBatch()
        first.append([Entry(term: 1, index: 1)], to: 1)
        try engine.write(first, sync: true)
        let before = gated.dataSyncs

        gated.closeGate()
        gated.failNextSyncs(1)
        var second = WriteBatch()
        second.append([Entry(term: 1, index: 2)], to: 1)
        let grouped = Task { try await engine.writeDurably(second) }
        try await gated.waitForBlockedSyncs(1)
        let third = {
            var batch = WriteBatch()
            batch.append([Entry(term: 1, index: 1)], to: 2)
            return batch
        }()
        // A synced write syncs under the writer lock (on a thread of its own: it blocks).
        let locked = Task { await onThread { try engine.write(third, sync: true) } }
        try await Task.sleep(for: .milliseconds(200))
        // Two fdatasyncs of one file at once could each be told a different story by Linux,
        // which reports a failed writeback to one of them only.
        #expect(gated.dataSyncs == before + 1, "the locked write's fdatasync started beside group commit's")
        gated.openGate()
        await #expect(throws: StorageError.self) { try await grouped.value }
        let written = await locked.value
        #expect(throws: StorageError.self, "a write acknowledged after a failed fdatasync") { try written.get() }
        #expect(gated.dataSyncs == before + 1, "a sync ran after one failed")
        try? engine.close()
    }
}
