import EtcdWAL
import Foundation
import RaftStorage

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
            log = try WALLogStore.open(at: path, options: .init(wal: WALOptions(fileSystem: counter), retainedSegments: nil))
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

/// The POSIX file system, counting fdatasyncs (to show one sync per group).
final class SyncCounter: FileSystem, @unchecked Sendable {
    private let posix = PosixFileSystem()
    private let count = Counter()

    var syncs: Int { count.value }

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        CountingFile(try posix.open(path, options, permissions: permissions), count)
    }
    func rename(_ source: String, to destination: String) throws(StorageError) { try posix.rename(source, to: destination) }
    func removeFile(_ path: String) throws(StorageError) { try posix.removeFile(path) }
    func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) { try posix.createDirectory(path, permissions: permissions) }
    func removeDirectory(_ path: String) throws(StorageError) { try posix.removeDirectory(path) }
    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] { try posix.contentsOfDirectory(path) }
    func syncDirectory(_ path: String) throws(StorageError) { try posix.syncDirectory(path) }
    func info(_ path: String) throws(StorageError) -> FileInfo? { try posix.info(path) }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var syncs = 0
        var value: Int { lock.withLock { syncs } }
        func increment() { lock.withLock { syncs += 1 } }
    }

    final class CountingFile: StorageFile, @unchecked Sendable {
        let base: any StorageFile
        let counter: Counter
        init(_ base: any StorageFile, _ counter: Counter) {
            self.base = base
            self.counter = counter
        }
        var path: String { base.path }
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int { try base.read(into: buffer, at: offset) }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) { try base.write(bytes, at: offset) }
        func size() throws(StorageError) -> Int64 { try base.size() }
        func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
        func preallocate(to size: Int64) throws(StorageError) { try base.preallocate(to: size) }
        func sync() throws(StorageError) {
            counter.increment()
            try base.sync()
        }
        func syncData() throws(StorageError) {
            counter.increment()
            try base.syncData()
        }
        func lock(wait: Bool) throws(StorageError) { try base.lock(wait: wait) }
        func close() throws(StorageError) { try base.close() }
    }
}
