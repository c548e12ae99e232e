import CoreMetrics
import EtcdStorage
import Foundation
import InMemoryLogging
import Logging
import MetricsTestKit
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization
import TestSupport
import Testing

@Suite("WAL operations")
struct WALOperationsTests {
    @Test("after a failed fsync every write is refused until the WAL is reopened")
    func failedSync() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let flaky = FlakyFileSystem()
        let options = WALOptions(fileSystem: flaky.fileSystem, segmentSize: 64 * 1024)
        let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: options)
        try wal.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1)])
        flaky.settings.withLock { $0.failDataSync = true }
        #expect { try wal.save(hardState: .empty, entries: [Entry(term: 1, index: 2)]) } throws: { ($0 as? StorageError)?.code == .io }
        flaky.settings.withLock { $0.failDataSync = false }
        #expect { try wal.save(hardState: .empty, entries: [Entry(term: 1, index: 3)]) } throws: { ($0 as? StorageError)?.code == .closed }
        #expect { try wal.sync() } throws: { ($0 as? StorageError)?.code == .closed }
        try wal.close()
        let (reopened, replay) = try WAL.open(at: path, from: .zero, codec: codec, options: options)
        #expect(replay.entries.first?.index == 1)
        try reopened.save(hardState: .empty, entries: [Entry(term: 1, index: replay.lastIndex + 1)])
        try reopened.close()
    }

    @Test("a slow fsync logs a warning and every fsync is timed; bytes and cuts are counted")
    func slowSyncAndMetrics() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let flaky = FlakyFileSystem()
        flaky.settings.withLock { $0.syncDelay = .milliseconds(15) }
        let logs = InMemoryLogHandler()
        let metrics = TestMetrics()
        let options = WALOptions(
            fileSystem: flaky.fileSystem, segmentSize: 4096, slowSyncThreshold: .milliseconds(10),
            logger: Logger(label: "test", factory: { _ in logs }), metricsFactory: metrics)
        let wal = try WAL.create(at: directory.file("wal"), metadata: nil, codec: codec, options: options)
        for index in UInt64(1)...12 {
            try wal.save(hardState: .empty, entries: [Entry(term: 1, index: index, data: Array(repeating: 1, count: 1000))])
        }
        try wal.close()
        let warnings = logs.entries.filter { $0.level == .warning && $0.message.description == "slow fdatasync" }
        #expect(!warnings.isEmpty)
        #expect(warnings.first?.metadata["expected-duration"] != nil)
        let timer = try metrics.expectTimer("raftstore_wal_fsync_duration_seconds")
        #expect(timer.values.count >= 12)
        #expect(timer.values.allSatisfy { $0 >= 15_000_000 })
        let written = try metrics.expectCounter("raftstore_wal_write_bytes_total")
        #expect(written.totalValue >= 12 * 1000)
        let cuts = try metrics.expectCounter("raftstore_wal_segments_cut_total")
        #expect(cuts.totalValue == Int64(walFiles(directory.file("wal")).count - 1))
        #expect(cuts.totalValue >= 2)
    }

    @Test("save fdatasyncs only under raft's MustSync rule; snapshot markers always")
    func mustSync() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let flaky = FlakyFileSystem()
        let wal = try WAL.create(at: directory.file("wal"), metadata: nil, codec: codec, options: WALOptions(fileSystem: flaky.fileSystem, segmentSize: 1 << 20))
        func syncs(_ body: () throws -> Void) rethrows -> Int {
            let before = flaky.settings.withLock { $0.dataSyncs }
            try body()
            return flaky.settings.withLock { $0.dataSyncs } - before
        }
        #expect(try syncs { try wal.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: []) } == 1, "new term and vote")
        #expect(try syncs { try wal.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1)]) } == 1, "entries")
        #expect(try syncs { try wal.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: []) } == 0, "commit only")
        #expect(wal.syncedHardState.commit == 0)
        #expect(wal.lastHardState.commit == 1)
        #expect(try syncs { try wal.save(hardState: .empty, entries: []) } == 0, "nothing")
        #expect(try syncs { try wal.saveSnapshot(SnapshotMarker(index: 1, term: 1)) } == 1, "snapshot marker")
        #expect(wal.syncedHardState.commit == 1)
        #expect(try syncs { try wal.save(hardState: HardState(term: 2, vote: 0, commit: 1), entries: []) } == 1, "term change")
        try wal.close()
    }

    @Test("unsafe no-sync mode writes everything but never fdatasyncs")
    func unsafeNoSync() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let flaky = FlakyFileSystem()
        let options = WALOptions(fileSystem: flaky.fileSystem, segmentSize: 4096, unsafeNoSync: true)
        let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: options)
        for index in UInt64(1)...20 {
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: index), entries: [Entry(term: 1, index: index, data: Array(repeating: 2, count: 700))])
        }
        try wal.saveSnapshot(SnapshotMarker(index: 20, term: 1))
        try wal.close()
        #expect(flaky.settings.withLock { $0.dataSyncs } == 0)
        let replay = try WAL.read(at: path, from: SnapshotMarker(index: 20, term: 1), codec: codec)
        #expect(replay.error == nil)
        #expect(replay.hardState.commit == 20)
    }

    @Test("a WAL written with a named codec is refused by the plain codec and the other way round")
    func codecIdentification() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let named = directory.file("named"), plain = directory.file("plain")
        let test = ForwardingCodec(formatName: "test-codec")
        let wal = try WAL.create(at: named, metadata: [7, 7], codec: test, options: smallOptions())
        try wal.save(hardState: .empty, entries: [Entry(term: 1, index: 1)])
        try wal.close()
        let raw = try WAL.read(at: named, from: .zero, codec: test, replayOptions: WALReplayOptions(collectsRecords: true)).records
        guard case .metadata(let stored)? = raw.dropFirst().first?.record else { Issue.record("no metadata record"); return }
        #expect(stored == [0] + Array("raftstore-codec:test-codec".utf8) + [0, 1, 7, 7], "starts with 0x00, which etcd cannot unmarshal")

        let replay = try WAL.read(at: named, from: .zero, codec: test)
        #expect(replay.error == nil)
        #expect(replay.metadata == [7, 7])
        #expect(try WAL.read(at: named, from: .zero, codec: codec).error?.code == .codecMismatch)
        #expect(try WAL.read(at: named, from: .zero, codec: ForwardingCodec(formatName: "other")).error?.code == .codecMismatch)
        #expect { _ = try WALLogStore(directory: named, codec: codec) } throws: { ($0 as? StorageError)?.code == .codecMismatch }

        try WAL.create(at: plain, metadata: [7, 7], codec: codec, options: smallOptions()).close()
        #expect(try WAL.read(at: plain, from: .zero, codec: test).error?.code == .codecMismatch)
        #expect { _ = try WAL.open(at: plain, from: .zero, codec: test, options: smallOptions()) } throws: { ($0 as? StorageError)?.code == .codecMismatch }

        // Plain metadata that looks like a tag is refused, so the two can never be confused.
        #expect { _ = try WAL.create(at: directory.file("fake"), metadata: [0] + Array("raftstore-codec:x".utf8), codec: codec) } throws: {
            ($0 as? StorageError)?.code == .invalidArgument
        }
        // Absent metadata stays absent through the tag.
        try WAL.create(at: directory.file("nil"), metadata: nil, codec: test, options: smallOptions()).close()
        #expect(try WAL.read(at: directory.file("nil"), from: .zero, codec: test).metadata == nil)
    }

    @Test("stale spare files are cut to zero before reuse")
    func staleSpares() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions(segmentSize: 4096)).close()
        for spare in ["0.tmp", "1.tmp"] { try writeBytes(Array(repeating: 0xAB, count: 8192), to: path + "/" + spare) }
        let (wal, _) = try WAL.open(at: path, from: .zero, codec: codec, options: smallOptions(segmentSize: 4096))
        for index in UInt64(1)...30 {
            try wal.save(hardState: .empty, entries: [Entry(term: 1, index: index, data: Array(repeating: 1, count: 500))])
        }
        try wal.close()
        #expect(walFiles(path).count > 2)
        let replay = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(replay.error == nil)
        #expect(replay.entries.count == 30)
    }

    @Test("releasing segments follows ReleaseLockTo; purging keeps the newest and stops at held ones")
    func releaseAndPurge() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions(segmentSize: 4096))
        for index in UInt64(1)...60 {
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: index), entries: [Entry(term: 1, index: index, data: Array(repeating: 1, count: 500))])
        }
        let held = wal.heldSegments
        #expect(held.count >= 6)
        // Nothing is released while no segment starts at or above the index, except below the newest.
        try wal.releaseSegments(below: held[3].index)
        #expect(wal.heldSegments == Array(held[2...]), "keeps the newest segment below the index")
        #expect(try wal.purgeReleasedSegments(keeping: 100).isEmpty)
        let removed = try wal.purgeReleasedSegments(keeping: 1)
        #expect(removed.map { String($0.split(separator: "/").last!) } == held[..<2].map(\.fileName), "stops at the first held segment")
        try wal.saveSnapshot(SnapshotMarker(index: 60, term: 1))
        try wal.close()
        #expect(try WAL.read(at: path, from: SnapshotMarker(index: 60, term: 1), codec: codec).error == nil)
        #expect(try WAL.validSnapshotMarkers(at: path, codec: codec) == [SnapshotMarker(index: 60, term: 1)])
    }

    @Test("a purge whose directory fsync fails stops the WAL: the removals may not be durable in order")
    func failedPurgeStopsWrites() throws {
        let fileSystem = FaultInjectingFileSystem()
        let wal = try WAL.create(at: "/w", metadata: nil, codec: codec, options: WALOptions(fileSystem: fileSystem, segmentSize: 4096))
        for index in UInt64(1)...60 {
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: index), entries: [Entry(term: 1, index: index, data: Array(repeating: 1, count: 500))])
        }
        try wal.releaseSegments(below: wal.heldSegments[3].index)
        fileSystem.inject(.syncFails())
        #expect(throws: StorageError.self) { try wal.purgeReleasedSegments(keeping: 0) }
        let refused = #expect(throws: StorageError.self) {
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: 61), entries: [Entry(term: 1, index: 61, data: [1])])
        }
        #expect(refused?.code == .closed)
        try? wal.close()
    }

    @Test("WALLogStore releases and purges segments only behind a synced, committed snapshot marker")
    func logStoreRelease() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let options = WALLogStore<ProtobufRecordCodec>.Options(wal: smallOptions(segmentSize: 4096), retainedSegments: 2)
        let store = try WALLogStore(directory: path, codec: codec, options: options)
        for index in UInt64(1)...80 {
            try store.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: [Entry(term: 1, index: index, data: Array(repeating: 1, count: 500))])
        }
        let before = walFiles(path).count
        #expect(before > 6)
        try store.compact(through: 70)
        #expect(walFiles(path).count == before, "no marker yet: nothing may go")
        try store.recordSnapshot(SnapshotMetadata(index: 75, term: 1))
        try store.compact(through: 75)
        #expect(walFiles(path).count < before)
        #expect(try store.snapshotMarkers().map(\.index) == [75])
        try store.close()
        let reopened = try WALLogStore(directory: path, codec: codec, options: options)
        #expect(try reopened.snapshotMarker().index == 75)
        #expect(try reopened.lastIndex() == 80)
        #expect(try reopened.hardState().commit == 79)
        try reopened.close()
    }

    @Test("applySnapshot survives a restart even when the commit index does not cover it")
    func applySnapshotDurable() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let store = try WALLogStore.open(at: path)
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: (1...5).map { Entry(term: 1, index: $0) })
        try store.recordSnapshot(SnapshotMetadata(index: 3, term: 1))
        try store.applySnapshot(SnapshotMetadata(index: 100, term: 4))
        try store.save(hardState: .empty, entries: [Entry(term: 4, index: 101)])
        try store.close()
        let reopened = try WALLogStore(directory: path, codec: codec)
        #expect(try reopened.firstIndex() == 101)
        #expect(try reopened.lastIndex() == 101)
        #expect(try reopened.term(at: 100) == 4)
        #expect(try reopened.snapshotMarker().matches(SnapshotMarker(index: 100, term: 4)))
        #expect(try reopened.snapshotMarkers().map(\.index) == [0, 3], "100 is not committed")
        // Falling back to the older marker re-reads from there.
        try reopened.resume(from: SnapshotMarker(index: 3, term: 1))
        #expect(try reopened.lastIndex() == 101)
        #expect { try reopened.resume(from: SnapshotMarker(index: 4, term: 1)) } throws: { ($0 as? StorageError)?.code == .notFound }
        try reopened.close()
        #expect { _ = try reopened.lastIndex() } throws: { ($0 as? StorageError)?.code == .closed }
    }
}
