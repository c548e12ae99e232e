#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EtcdWAL
import Logging
import RaftStorage
import RaftStorageTesting
import Synchronization
import Testing

/// The tail's write-behind thread: writes of whole pages run on it while the next records are
/// framed, and the file system must not be able to tell, except by the thread that calls it.
@Suite("WAL write-behind")
struct WriteBehindTests {
    static let directory = "/data/wal"

    static func options(_ fileSystem: any FileSystem, segmentSize: Int64 = 1 << 20) -> WALOptions {
        WALOptions(fileSystem: fileSystem, segmentSize: segmentSize, logger: Logger(label: "write-behind", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// `count` entries of 1000 bytes from `first`: 100 of them cross the page buffer's 128 KiB
    /// watermark.
    static func entries(from first: UInt64, count: Int) -> [Entry] {
        (first..<(first + UInt64(count))).map { Entry(term: 1, index: $0, data: Array(repeating: UInt8(truncatingIfNeeded: $0), count: 1000)) }
    }

    /// Writes 4 MB in batches of 100 KB without syncing (a sync every tenth batch), across
    /// segment cuts, and closes; returns what the file system saw.
    static func workload(_ base: FaultInjectingFileSystem) throws -> RecordingFileSystem {
        let recorder = RecordingFileSystem(base: base)
        let wal = try WAL.create(at: directory, metadata: [7], codec: ProtobufRecordCodec(), options: options(recorder))
        for batch in 0..<40 {
            _ = try wal.saveWithoutSync(hardState: HardState(term: 1, vote: 1, commit: UInt64(batch * 100)), entries: entries(from: UInt64(batch * 100 + 1), count: 100))
            if batch % 10 == 9 { try wal.sync() }
        }
        try wal.close()
        return recorder
    }

    @Test("the file system sees the same calls in the same order every run, never two at once, and the log reads back whole")
    func deterministicOrder() throws {
        let first = FaultInjectingFileSystem()
        let recorded = try Self.workload(first)
        let second = FaultInjectingFileSystem()
        let again = try Self.workload(second)

        #expect(recorded.log.count > 100)
        #expect(recorded.log == again.log, "the sequence of file-system calls depends on thread timing")
        #expect(recorded.mostAtOnce == 1, "a file operation overlapped a write in flight")
        #expect(again.mostAtOnce == 1)
        #expect(recorded.writesOnOtherThreads > 0, "no write ran on the write-behind thread")
        #expect(first.statistics.mutatingOperations == second.statistics.mutatingOperations)

        let replay = try WAL.read(at: Self.directory, from: .zero, codec: ProtobufRecordCodec(), options: Self.options(first))
        #expect(replay.error == nil)
        #expect(replay.entries == Self.entries(from: 1, count: 4000))
        #expect(replay.hardState == HardState(term: 1, vote: 1, commit: 3900))
        #expect(replay.segments.count > 3)
    }

    @Test("a failed background write is reported by the next call that waits, poisons the WAL and leaves the tail-not-durable note")
    func failedBackgroundWrite() throws {
        let fs = FaultInjectingFileSystem()
        let wal = try WAL.create(at: Self.directory, metadata: nil, codec: ProtobufRecordCodec(), options: Self.options(fs))
        let durable = Self.entries(from: 1, count: 10)
        try wal.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: durable)
        fs.inject(FaultInjectingFileSystem.Fault(.write, pathContains: ".wal", errno: 5))
        // 200 KB: one hand-off to the thread (which fails), the rest stays buffered.
        let sequence = try wal.saveWithoutSync(hardState: .empty, entries: Self.entries(from: 11, count: 200))
        #expect(sequence > 0)
        let reported = #expect(throws: StorageError.self) { try wal.sync() }
        #expect(reported?.errno == 5, "\(String(describing: reported))")
        let refused = #expect(throws: StorageError.self) { try wal.save(hardState: .empty, entries: Self.entries(from: 211, count: 1)) }
        #expect(refused?.code == .closed)
        #expect(fs.files(under: Self.directory).contains { $0.hasSuffix("tail-not-durable.tmp") })
        try? wal.close()

        fs.crash(.dropUnsynced)
        let (reopened, replay) = try WAL.open(at: Self.directory, from: .zero, codec: ProtobufRecordCodec(), options: Self.options(fs))
        #expect(replay.entries == durable)
        try reopened.save(hardState: .empty, entries: Self.entries(from: 11, count: 1))
        try reopened.close()
    }

    @Test("close reports a failed background write nobody waited for")
    func closeReportsFailure() throws {
        let fs = FaultInjectingFileSystem()
        let wal = try WAL.create(at: Self.directory, metadata: nil, codec: ProtobufRecordCodec(), options: Self.options(fs))
        fs.inject(FaultInjectingFileSystem.Fault(.write, pathContains: ".wal", errno: 28))
        _ = try wal.saveWithoutSync(hardState: .empty, entries: Self.entries(from: 1, count: 200))
        let reported = #expect(throws: StorageError.self) { try wal.close() }
        #expect(reported?.errno == 28, "\(String(describing: reported))")
        #expect(throws: StorageError.self) { try wal.sync() }
    }

    @Test("a group commit waits for the writes in flight: what it acknowledges is on disk")
    func groupCommitCoversWritesInFlight() async throws {
        let fs = FaultInjectingFileSystem()
        let wal = try WAL.create(at: Self.directory, metadata: nil, codec: ProtobufRecordCodec(), options: Self.options(fs, segmentSize: 64 << 20))
        var last: UInt64 = 0
        for batch in 0..<5 {
            last = try wal.saveWithoutSync(hardState: .empty, entries: Self.entries(from: UInt64(batch * 150 + 1), count: 150))
        }
        try await wal.waitUntilDurable(last)
        fs.crash(.dropUnsynced)
        let replay = try WAL.read(at: Self.directory, from: .zero, codec: ProtobufRecordCodec(), options: Self.options(fs))
        #expect(replay.entries == Self.entries(from: 1, count: 750))
    }
}

/// Forwards every call to `base` and records it in order: what, where, how much; counts calls
/// that overlap and writes made on a thread other than the one that opened the file system.
final class RecordingFileSystem: FileSystem, @unchecked Sendable {
    // @unchecked: `state` is a Mutex; `base` and `owner` are immutable.
    let base: any FileSystem
    private let owner = pthread_self()
    private struct State {
        var log: [String] = []
        var active = 0
        var mostAtOnce = 0
        var writesOnOtherThreads = 0
    }
    private let state = Mutex(State())

    init(base: any FileSystem) { self.base = base }

    var log: [String] { state.withLock { $0.log } }
    var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }
    var writesOnOtherThreads: Int { state.withLock { $0.writesOnOtherThreads } }

    func record<Result>(_ call: String, isWrite: Bool = false, _ body: () throws(StorageError) -> Result) throws(StorageError) -> Result {
        let elsewhere = isWrite && pthread_equal(pthread_self(), owner) == 0
        state.withLock { state in
            state.log.append(call)
            state.active += 1
            state.mostAtOnce = max(state.mostAtOnce, state.active)
            if elsewhere { state.writesOnOtherThreads += 1 }
        }
        defer { state.withLock { $0.active -= 1 } }
        return try body()
    }

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        let file = try record("open \(path)") { () throws(StorageError) in try base.open(path, options, permissions: permissions) }
        return RecordedFile(base: file, recorder: self)
    }
    func rename(_ source: String, to destination: String) throws(StorageError) {
        try record("rename \(source) \(destination)") { () throws(StorageError) in try base.rename(source, to: destination) }
    }
    func removeFile(_ path: String) throws(StorageError) { try record("remove \(path)") { () throws(StorageError) in try base.removeFile(path) } }
    func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) {
        try record("mkdir \(path)") { () throws(StorageError) in try base.createDirectory(path, permissions: permissions) }
    }
    func removeDirectory(_ path: String) throws(StorageError) { try record("rmdir \(path)") { () throws(StorageError) in try base.removeDirectory(path) } }
    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] {
        try record("list \(path)") { () throws(StorageError) in try base.contentsOfDirectory(path) }
    }
    func syncDirectory(_ path: String) throws(StorageError) { try record("dirsync \(path)") { () throws(StorageError) in try base.syncDirectory(path) } }
    func info(_ path: String) throws(StorageError) -> FileInfo? { try record("info \(path)") { () throws(StorageError) in try base.info(path) } }
}

private final class RecordedFile: StorageFile {
    let base: any StorageFile
    let recorder: RecordingFileSystem

    init(base: any StorageFile, recorder: RecordingFileSystem) {
        self.base = base
        self.recorder = recorder
    }

    var path: String { base.path }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int {
        try recorder.record("read \(path) \(offset) \(buffer.count)") { () throws(StorageError) in try base.read(into: buffer, at: offset) }
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        try recorder.record("write \(path) \(offset) \(bytes.count)", isWrite: true) { () throws(StorageError) in try base.write(bytes, at: offset) }
    }
    func size() throws(StorageError) -> Int64 { try recorder.record("size \(path)") { () throws(StorageError) in try base.size() } }
    func truncate(to size: Int64) throws(StorageError) { try recorder.record("truncate \(path) \(size)") { () throws(StorageError) in try base.truncate(to: size) } }
    func preallocate(to size: Int64) throws(StorageError) {
        try recorder.record("preallocate \(path) \(size)") { () throws(StorageError) in try base.preallocate(to: size) }
    }
    func sync() throws(StorageError) { try recorder.record("fsync \(path)") { () throws(StorageError) in try base.sync() } }
    func syncData() throws(StorageError) { try recorder.record("fdatasync \(path)") { () throws(StorageError) in try base.syncData() } }
    func lock(wait: Bool) throws(StorageError) { try recorder.record("lock \(path)") { () throws(StorageError) in try base.lock(wait: wait) } }
    func close() throws(StorageError) { try recorder.record("close \(path)") { () throws(StorageError) in try base.close() } }
}
