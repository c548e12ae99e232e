import EtcdStorage
import Foundation
import RaftStorage

/// Durable single 100-byte entries through `Storage`: one task saving synchronously (each save
/// of an entry fdatasyncs, raft's `MustSync`) against `tasks` tasks appending through the async
/// API (group commit), on two storages in the same directory, in alternating stretches.
enum StorageGroupCommitBenchmark {
    struct Round {
        var synchronous: Double
        var concurrent: Double
    }

    static func run(tasks: Int, entries: Int, size: Int, directory: String, rounds: Int) async throws -> [Round] {
        var results: [Round] = []
        for _ in 0..<rounds {
            let base = try Scratch.directory(in: directory)
            defer { Scratch.remove(base) }
            let synchronous = try open(base + "/sync")
            let concurrent = try open(base + "/async")
            defer {
                try? synchronous.close()
                try? concurrent.close()
            }
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
            var timed = (synchronous: 0.0, concurrent: 0.0)
            let stretches = 10
            for _ in 0..<stretches {
                var start = ContinuousClock.now
                try saveOneByOne(synchronous, count: entries / stretches / 8, payload: payload)
                timed.synchronous += (ContinuousClock.now - start).seconds
                start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<tasks {
                        group.addTask {
                            for _ in 0..<max(1, entries / stretches / tasks) { _ = try await concurrent.append(term: 1, data: payload) }
                        }
                    }
                    try await group.waitForAll()
                }
                timed.concurrent += (ContinuousClock.now - start).seconds
            }
            results.append(Round(
                synchronous: Double(try synchronous.lastIndex()) / timed.synchronous,
                concurrent: Double(try concurrent.lastIndex()) / timed.concurrent))
        }
        return results
    }

    /// Saves `count` entries one per call through the synchronous API (from a synchronous
    /// function: in an async one the name resolves to the async overload).
    private static func saveOneByOne(_ storage: Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>, count: Int, payload: [UInt8]) throws {
        let first = try storage.lastIndex() + 1
        for index in first..<(first + UInt64(count)) {
            try storage.save(hardState: .empty, entries: [Entry(term: 1, index: index, data: payload)])
        }
    }

    private static func open(_ path: String) throws -> Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore> {
        try Storage(log: try WALLogStore.open(at: path + "/wal"), snapshots: try EtcdSnapshotStore(directory: path + "/snap"))
    }
}
