import DictionaryLog
import EtcdStorage
import Foundation
import MemoryStore
import RaftStorage
import Testing

/// The async `Storage` API as a package that depends on the framework uses it: many tasks
/// writing durably through one `Storage`, over the framework's WAL and over this package's own
/// log store (which gets the async calls from `LogStore`'s defaults).
@Suite("Async Storage from another package")
struct AsyncStorageTests {
    @Test("16 tasks append durably through Storage over the WAL; a reopen finds every entry")
    func sixteenTasksOverTheWAL() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("custom-backend-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let storage = try Storage(
            log: try WALLogStore.open(at: directory + "/wal"), snapshots: try EtcdSnapshotStore(directory: directory + "/snap"))
        let indexes = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for task in 0..<16 {
                group.addTask {
                    var mine: [UInt64] = []
                    for number in 0..<20 { mine.append(try await storage.append(term: 1, data: Array("\(task)-\(number)".utf8))) }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await mine in group { all += mine }
            return all
        }
        #expect(Set(indexes) == Set(1...320))
        try storage.close()
        let reopened = try Storage(
            log: try WALLogStore.open(at: directory + "/wal"), snapshots: try EtcdSnapshotStore(directory: directory + "/snap"))
        #expect(try reopened.lastIndex() == 320)
        try reopened.close()
    }

    @Test("a log store with only synchronous calls works through async Storage")
    func thirdPartyStore() async throws {
        let storage = try Storage(log: DictionaryLogStore(disk: DictionaryDisk()), snapshots: MemorySnapshotStore())
        try await storage.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1, data: [1])])
        let index = try await storage.append(term: 1, data: [2])
        #expect(index == 2)
        try await storage.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: [])
        try await storage.sync()
        #expect(try storage.initialState().hardState.commit == 2)
    }
}
