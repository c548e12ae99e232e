import EtcdStorage
import Foundation
import RaftStorage
import RaftStorageTesting
import Synchronization

/// Durable appends of single 100-byte entries through `WALLogStore.appendDurably`: one task
/// against `tasks` concurrent tasks, on fresh logs in the same directory, alternating.
enum GroupCommitBenchmark {
    struct Round {
        var single: Double
        var concurrent: Double
        var syncsPerEntry: Double
    }

    /// Each round alternates short stretches of one writer and of `tasks` writers, ten of
    /// each, on two logs in the same directory, so both see the disk in the same state (these
    /// shared disks change speed from one second to the next).
    static func run(tasks: Int, singleEntries: Int, concurrentEntries: Int, size: Int, directory: String, rounds: Int) async throws -> [Round] {
        var results: [Round] = []
        for _ in 0..<rounds {
            let base = try Scratch.directory(in: directory)
            defer { Scratch.remove(base) }
            let single = try Writer(path: base + "/single")
            let concurrent = try Writer(path: base + "/concurrent")
            defer {
                try? single.log.close()
                try? concurrent.log.close()
            }
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
            let stretches = 10
            for _ in 0..<stretches {
                try await single.append(tasks: 1, perTask: max(1, singleEntries / stretches), payload: payload)
                try await concurrent.append(tasks: tasks, perTask: max(1, concurrentEntries / stretches / tasks), payload: payload)
            }
            results.append(Round(
                single: single.rate, concurrent: concurrent.rate,
                syncsPerEntry: Double(concurrent.counter.syncs - concurrent.syncsAtStart) / Double(concurrent.entries)))
        }
        return results
    }

    /// One log and what was timed on it.
    final class Writer {
        let counter = SyncCounter()
        let log: WALLogStore<ProtobufRecordCodec>
        let syncsAtStart: Int
        var entries = 0
        var seconds = 0.0

        init(path: String) throws {
            log = try WALLogStore.open(at: path, options: .init(wal: WALOptions(fileSystem: counter.fileSystem), retainedSegments: nil))
            syncsAtStart = counter.syncs
        }

        var rate: Double { Double(entries) / seconds }

        func append(tasks: Int, perTask: Int, payload: [UInt8]) async throws {
            let log = self.log
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for _ in 0..<perTask { _ = try await log.appendDurably(term: 1, data: payload) }
                    }
                }
                try await group.waitForAll()
            }
            seconds += (ContinuousClock.now - start).seconds
            entries += tasks * perTask
            guard try log.durableIndex() == UInt64(entries) else { throw StorageError(.corrupt, "durable index short of the appends") }
        }
    }
}

/// The POSIX file system, counting fsyncs and fdatasyncs (to show one sync per group).
final class SyncCounter: Sendable {
    private let count = Mutex(0)

    var syncs: Int { count.withLock { $0 } }

    /// The file system to hand to the log: every file sync it performs is counted.
    var fileSystem: SyncHookFileSystem {
        SyncHookFileSystem { [self] kind, _, perform throws(StorageError) in
            if kind != .directory { count.withLock { $0 += 1 } }
            try perform()
        }
    }
}
