import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization
import TestSupport
import Testing

/// Group commit (`WALLogStore.appendDurably`, `saveDurably`, `WAL.waitUntilDurable`) on the
/// fault-injecting file system: ordering, when entries become readable and durable, one
/// fdatasync per group, and a failed fdatasync failing its whole group and poisoning the log.
///
/// Serialized: the gated tests hold one cooperative thread inside fdatasync on purpose.
@Suite("Group commit", .serialized)
struct GroupCommitTests {
    static let path = "/data/wal"

    static func open(_ fileSystem: any FileSystem) throws -> WALLogStore<ProtobufRecordCodec> {
        try WALLogStore.open(at: path, options: .init(wal: WALOptions(fileSystem: fileSystem, segmentSize: 64 * 1024), retainedSegments: nil))
    }

    static func payload(_ task: Int, _ number: Int) -> [UInt8] { Array("task \(task) entry \(number)".utf8) }

    @Test("concurrent writers get consecutive indexes, in order per writer, all durable and readable")
    func concurrentWriters() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let log = try Self.open(fileSystem)
        let tasks = 16, perTask = 40
        let indexes = try await withThrowingTaskGroup(of: (Int, [UInt64]).self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var mine: [UInt64] = []
                    for number in 0..<perTask { mine.append(try await log.appendDurably(term: 3, data: Self.payload(task, number))) }
                    return (task, mine)
                }
            }
            var all: [Int: [UInt64]] = [:]
            for try await (task, mine) in group { all[task] = mine }
            return all
        }
        #expect(try log.lastIndex() == UInt64(tasks * perTask))
        #expect(try log.durableIndex() == UInt64(tasks * perTask))
        let entries = try log.entries(from: 1)
        #expect(Set(indexes.values.flatMap { $0 }) == Set(1...UInt64(tasks * perTask)))
        for (task, mine) in indexes {
            #expect(mine == mine.sorted(), "task \(task) got its indexes out of order")
            for (number, index) in mine.enumerated() {
                #expect(entries[Int(index) - 1].data == Self.payload(task, number))
                #expect(entries[Int(index) - 1].term == 3)
            }
        }

        // Everything acknowledged survives power loss.
        fileSystem.crash(.dropUnsynced)
        let reopened = try Self.open(fileSystem)
        #expect(try reopened.entries(from: 1) == entries)
        try reopened.close()
    }

    @Test("a sync under the writer lock waits for group commit's fdatasync in flight, and fails with it")
    func syncsNeverOverlap() async throws {
        let gated = GatedFileSystem()
        let log = try Self.open(gated.fileSystem)
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1, data: [1])])
        let before = gated.dataSyncs

        gated.closeGate()
        gated.failNextSyncs(1)
        let grouped = Task { try await log.appendDurably(term: 1, data: [2]) }
        try await gated.waitForBlockedSyncs(1)
        // A save raft's MustSync rule syncs under the writer lock (on a thread of its own: it blocks).
        let locked = Task {
            await onThread { try log.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: [Entry(term: 1, index: 3, data: [3])]) }
        }
        try await Task.sleep(for: .milliseconds(200))
        // Two fdatasyncs of one file at once could each be told a different story by Linux,
        // which reports a failed writeback to one of them only.
        #expect(gated.dataSyncs == before + 1, "the locked save's fdatasync started beside group commit's")
        gated.openGate()
        await #expect(throws: StorageError.self) { try await grouped.value }
        let saved = await locked.value
        #expect(throws: StorageError.self, "a save acknowledged after a failed fdatasync") { try saved.get() }
        #expect(gated.dataSyncs == before + 1, "a sync ran after one failed")
        try? log.close()
    }

    @Test("a WAL opened after its process was killed makes what it read back durable before it reports it durable")
    func reopenAfterKill() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let unsynced = WALOptions(fileSystem: fileSystem, segmentSize: 64 * 1024, unsafeNoSync: true)
        let killed = try WALLogStore.open(at: Self.path, options: .init(wal: unsynced, retainedSegments: nil))
        try killed.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: (1...3).map { Entry(term: 1, index: $0, data: [UInt8($0)]) })
        // The records are in the page cache, not on disk, when the process dies.
        fileSystem.killProcess()

        let reopened = try Self.open(fileSystem)
        #expect(try reopened.lastIndex() == 3)
        #expect(try reopened.durableIndex() == 3)
        try await reopened.syncDurably()
        fileSystem.crash(.dropUnsynced)

        let afterPowerLoss = try Self.open(fileSystem)
        #expect(try afterPowerLoss.lastIndex() == 3, "entries reported durable were lost")
        #expect(try afterPowerLoss.hardState() == HardState(term: 1, vote: 1, commit: 3))
        try afterPowerLoss.close()
        withExtendedLifetime(killed) {}
    }

    @Test("an appended entry is readable before it is durable, and durable when the call returns")
    func readableBeforeDurable() async throws {
        let gated = GatedFileSystem()
        let log = try Self.open(gated.fileSystem)
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1, data: [1])])
        #expect(try log.durableIndex() == 1)

        gated.closeGate()
        let append = Task { try await log.appendDurably(term: 1, data: [2]) }
        try await gated.waitForBlockedSyncs(1)
        // The write reached the log; its fdatasync has not returned.
        #expect(try log.lastIndex() == 2)
        #expect(try log.entries(in: 2..<3).map(\.data) == [[2]])
        #expect(try log.durableIndex() == 1)

        gated.openGate()
        #expect(try await append.value == 2)
        #expect(try log.durableIndex() == 2)
        try log.close()
    }

    @Test("writes made while a sync is in flight share the next one: one fdatasync per group")
    func oneSyncPerGroup() async throws {
        let gated = GatedFileSystem()
        let log = try Self.open(gated.fileSystem)
        let before = gated.dataSyncs

        gated.closeGate()
        let first = Task { try await log.appendDurably(term: 1, data: [0]) }
        try await gated.waitForBlockedSyncs(1)
        let group = (1...10).map { number in Task { try await log.appendDurably(term: 1, data: [UInt8(number)]) } }
        // Every one of them wrote its entry and is waiting.
        try await waitUntil { try log.lastIndex() == 11 }
        #expect(try log.durableIndex() == 0)

        gated.openGate()
        #expect(try await first.value == 1)
        var indexes: [UInt64] = []
        for task in group { indexes.append(try await task.value) }
        #expect(Set(indexes) == Set(2...11))
        #expect(gated.dataSyncs - before == 2, "one fdatasync for the first write, one for the ten behind it")
        #expect(try log.durableIndex() == 11)
        try log.close()
    }

    @Test("a failed fdatasync fails every waiter of its group and poisons the log; reopening recovers what was durable")
    func failedSyncPoisons() async throws {
        let gated = GatedFileSystem()
        let log = try Self.open(gated.fileSystem)
        _ = try await log.appendDurably(term: 1, data: [1])
        #expect(try log.durableIndex() == 1)

        gated.closeGate()
        let leader = Task { try await log.appendDurably(term: 1, data: [2]) }
        try await gated.waitForBlockedSyncs(1)
        let group = (3...6).map { number in Task { try await log.appendDurably(term: 1, data: [UInt8(number)]) } }
        try await waitUntil { try log.lastIndex() == 6 }
        gated.failNextSyncs(2)
        gated.openGate()

        var failures: [StorageError] = []
        for task in [leader] + group {
            do {
                _ = try await task.value
            } catch let error as StorageError {
                failures.append(error)
            }
        }
        #expect(failures.count == 5, "the leader's group and the one queued behind it all fail")
        #expect(failures.allSatisfy { $0.code == .io || $0.code == .closed })
        #expect(try log.durableIndex() == 1)

        // Poisoned: later writes are refused, durable or not.
        await #expect(throws: StorageError.self) { _ = try await log.appendDurably(term: 1, data: [7]) }
        #expect(throws: StorageError.self) { try log.save(hardState: .empty, entries: [Entry(term: 1, index: 7)]) }
        try? log.close()

        // The simulated disk lost what the failed fdatasync did not write; the durable entry stays.
        gated.base.crash(.dropUnsynced)
        gated.failNextSyncs(0)
        let reopened = try Self.open(gated.fileSystem)
        #expect(try reopened.entries(in: 1..<2).map(\.data) == [[1]])
        _ = try await reopened.appendDurably(term: 2, data: [9])
        try reopened.close()
    }

    @Test("after resume(from:) the reopened WAL goes on with group commit: numbering and durability carry over")
    func groupCommitAfterResume() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let log = try Self.open(fileSystem)
        for index in UInt64(1)...10 { _ = try await log.appendDurably(term: 1, data: [UInt8(index)]) }
        try log.save(hardState: HardState(term: 1, vote: 1, commit: 10), entries: [])
        try log.recordSnapshot(SnapshotMetadata(index: 4, term: 1))
        try log.recordSnapshot(SnapshotMetadata(index: 7, term: 1))

        try log.resume(from: SnapshotMarker(index: 4, term: 1))
        #expect(try log.firstIndex() == 5)
        #expect(try log.durableIndex() == 10)
        #expect(try await log.appendDurably(term: 1, data: [11]) == 11)
        #expect(try log.durableIndex() == 11)
        let expected: [[UInt8]?] = (UInt64(5)...11).map { [UInt8($0)] }
        #expect(try log.entries(in: 5..<12).map(\.data) == expected)
        try log.close()

        fileSystem.crash(.dropUnsynced)
        let reopened = try Self.open(fileSystem)
        #expect(try reopened.lastIndex() == 11)
        try reopened.close()
    }

    @Test("WAL.saveWithoutSync and waitUntilDurable: a sync() or a later wait covers earlier writes")
    func walSequences() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let wal = try WAL.create(at: "/w", metadata: nil, codec: ProtobufRecordCodec(), options: WALOptions(fileSystem: fileSystem))
        let first = try wal.saveWithoutSync(hardState: .empty, entries: [Entry(term: 1, index: 1)])
        let second = try wal.saveWithoutSync(hardState: HardState(term: 1, vote: 0, commit: 1), entries: [Entry(term: 1, index: 2)])
        #expect(second > first)
        #expect(wal.durableSequence < first)
        try await wal.waitUntilDurable(second)
        #expect(wal.durableSequence >= second)
        try await wal.waitUntilDurable(first)  // already covered: returns at once

        let third = try wal.saveWithoutSync(hardState: .empty, entries: [Entry(term: 1, index: 3)])
        try wal.sync()
        #expect(wal.durableSequence >= third)
        try await wal.waitUntilDurable(third)
        try wal.close()

        fileSystem.crash(.dropUnsynced)
        let replay = try WAL.read(at: "/w", from: .zero, codec: ProtobufRecordCodec(), options: WALOptions(fileSystem: fileSystem))
        #expect(replay.entries.map(\.index) == [1, 2, 3])
        #expect(replay.hardState.commit == 1)
    }
}
