import EtcdStorage
import Foundation
import LZ4Snapshots
import MemoryStore
import RaftStorage
import RaftFiles
import LZ4Codec
import RaftStorageTesting
import TestSupport
import Testing

/// `Storage` over every log backend and every snapshot backend, through the restart conformance
/// workloads (the memory-memory pair runs in MemoryStoreTests).
@Suite("Storage over every log and snapshot backend")
struct StorageCompositionTests {
    enum LogKind: String, CaseIterable, Sendable {
        case memory, wal, lz4WAL
    }

    enum SnapshotKind: String, CaseIterable, Sendable {
        case memory, etcd, lz4
    }

    struct Pair: Sendable, CustomTestStringConvertible {
        let log: LogKind
        let snapshots: SnapshotKind
        var testDescription: String { "\(log.rawValue) log + \(snapshots.rawValue) snapshots" }
    }

    static let pairs = LogKind.allCases.flatMap { log in SnapshotKind.allCases.map { Pair(log: log, snapshots: $0) } }
        .filter { !($0.log == .memory && $0.snapshots == .memory) }

    typealias Suite = StorageConformance<AnyLogStore, AnySnapshotStore>

    static let walOptions = WALLogStore<ProtobufRecordCodec>.Options(wal: WALOptions(segmentSize: 16 * 1024), retainedSegments: 2)

    static func openLog(_ kind: LogKind, _ directory: String) throws -> AnyLogStore {
        switch kind {
        case .memory: AnyLogStore(MemoryLogStore())
        case .wal: AnyLogStore(try WALLogStore(directory: directory, codec: ProtobufRecordCodec(), options: walOptions))
        case .lz4WAL:
            AnyLogStore(
                try WALLogStore(
                    directory: directory, codec: LZ4RecordCodec(base: ProtobufRecordCodec(), threshold: 16),
                    options: .init(wal: walOptions.wal, retainedSegments: 2)))
        }
    }

    static func openSnapshots(_ kind: SnapshotKind, _ directory: String) throws -> AnySnapshotStore {
        switch kind {
        case .memory: AnySnapshotStore(MemorySnapshotStore())
        case .etcd: AnySnapshotStore(try EtcdSnapshotStore(directory: directory))
        case .lz4: AnySnapshotStore(try LZ4SnapshotStore(directory: directory, codec: ProtobufRecordCodec()))
        }
    }

    /// Opens a WAL again right after it was closed. A child process that another test forks at
    /// that moment (the etcd tests run etcdctl) holds the segments' open file descriptions, and
    /// so their OFD locks, until it execs; the lock is then briefly still taken, so retry.
    static func reopenLog(_ kind: LogKind, _ directory: String) throws -> AnyLogStore {
        for _ in 0..<100 {
            do {
                return try openLog(kind, directory)
            } catch let error as StorageError where error.code == .locked {
                usleep(10_000)
            }
        }
        return try openLog(kind, directory)
    }

    /// A closed memory log continued as its `reopened()` copy, as a restart would find it.
    static func reopenedInMemory(_ log: AnyLogStore) -> AnyLogStore {
        (log.base as? MemoryLogStore).map { AnyLogStore($0.reopened()) } ?? log
    }

    /// Where a store's files are, for reopening.
    static func directory(of log: AnyLogStore) -> String? {
        (log.base as? WALLogStore<ProtobufRecordCodec>)?.directory
            ?? (log.base as? WALLogStore<LZ4RecordCodec<ProtobufRecordCodec>>)?.directory
    }

    static func directory(of snapshots: AnySnapshotStore) -> String? {
        (snapshots.base as? EtcdSnapshotStore)?.directory ?? (snapshots.base as? LZ4SnapshotStore<ProtobufRecordCodec>)?.directory
    }

    /// The suite's workloads but the damage ones (they do not depend on the backends; listing
    /// them makes no store).
    static let cases = Suite(makeStore: { throw StorageError(.invalidArgument, "only for the case list") }, reopen: { ($0, $1) }).cases

    /// The suite for `pair` with its files under `base`; file snapshot stores can be damaged.
    static func suite(_ pair: Pair, _ base: TemporaryDirectory) -> Suite {
        var damage: (@Sendable (AnySnapshotStore) throws -> Void)?
        if pair.snapshots != .memory { damage = { snapshots in try Self.damageNewest(snapshots) } }
        return Suite(
            // A fresh pair of directories for each run of a case (plain, then reopen).
            makeStore: {
                let run = base.file(UUID().uuidString)
                try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
                return (try Self.openLog(pair.log, run + "/wal"), try Self.openSnapshots(pair.snapshots, run + "/snap"))
            },
            // The suite closed the storage.
            reopen: { log, snapshots in
                let reopenedLog = try Self.directory(of: log).map { try Self.reopenLog(pair.log, $0) } ?? Self.reopenedInMemory(log)
                let reopenedSnapshots = try Self.directory(of: snapshots).map { try Self.openSnapshots(pair.snapshots, $0) } ?? snapshots
                return (reopenedLog, reopenedSnapshots)
            },
            damageNewestSnapshot: damage)
    }

    /// Flips 64 bytes from the middle of the newest snapshot file on, as a bad sector would.
    static func damageNewest(_ snapshots: AnySnapshotStore) throws {
        let newest = try #require(try snapshots.list().first, "a snapshot to damage")
        let path = try #require(
            (snapshots.base as? EtcdSnapshotStore)?.filePath(of: newest)
                ?? (snapshots.base as? LZ4SnapshotStore<ProtobufRecordCodec>)?.filePath(of: newest),
            "a file snapshot store")
        var bytes = try readBytes(path)
        let middle = bytes.count / 2
        for offset in middle..<min(bytes.count, middle + 64) { bytes[offset] ^= 0xA5 }
        try writeBytes(bytes, to: path)
    }

    @Test(arguments: pairs, cases)
    func restart(_ pair: Pair, _ testCase: Suite.Case) throws {
        try withTemporaryDirectory("storage") { base in
            try Self.suite(pair, base).run(testCase)
        }
    }

    /// Each WAL with each file snapshot store: recovery falls back to the older snapshot when
    /// the newest file is unreadable, and loses no acknowledged entry.
    @Test(arguments: pairs.filter { $0.log != .memory && $0.snapshots != .memory }, Suite.damageCases)
    func fallback(_ pair: Pair, _ testCase: Suite.Case) throws {
        try withTemporaryDirectory("storage") { base in
            try Self.suite(pair, base).run(testCase)
        }
    }
}
