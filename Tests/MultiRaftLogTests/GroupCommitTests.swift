import MultiRaftLog
import RaftFiles
import RaftStorage
import RaftStorageTesting
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
}
