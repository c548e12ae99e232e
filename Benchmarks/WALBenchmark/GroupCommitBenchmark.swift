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

    static func run(tasks: Int, singleEntries: Int, concurrentEntries: Int, size: Int, directory: String, rounds: Int) async throws -> [Round] {
        var results: [Round] = []
        for _ in 0..<rounds {
            let single = try await measure(tasks: 1, entries: singleEntries, size: size, directory: directory)
            let concurrent = try await measure(tasks: tasks, entries: concurrentEntries, size: size, directory: directory)
            results.append(Round(single: single.rate, concurrent: concurrent.rate, syncsPerEntry: concurrent.syncsPerEntry))
        }
        return results
    }

    /// Entries per second made durable by `tasks` tasks appending `entries` in all, and how
    /// many fdatasyncs that took per entry.
    static func measure(tasks: Int, entries: Int, size: Int, directory: String) async throws -> (rate: Double, syncsPerEntry: Double) {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let counter = SyncCounter()
        let options = WALLogStore<ProtobufRecordCodec>.Options(wal: WALOptions(fileSystem: counter), retainedSegments: nil)
        let log = try WALLogStore.open(at: base + "/wal", options: options)
        defer { try? log.close() }
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let perTask = entries / tasks
        let syncsBefore = counter.syncs
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    for _ in 0..<perTask { _ = try await log.appendDurably(term: 1, data: payload) }
                }
            }
            try await group.waitForAll()
        }
        let seconds = (ContinuousClock.now - start).seconds
        let written = perTask * tasks
        guard try log.durableIndex() == UInt64(written) else { throw StorageError(.corrupt, "durable index short of the appends") }
        return (Double(written) / seconds, Double(counter.syncs - syncsBefore) / Double(written))
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
