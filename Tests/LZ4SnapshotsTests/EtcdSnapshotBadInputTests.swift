import EtcdStorage
import Foundation
import InMemoryLogging
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import TestSupport
import Testing

/// Damaged `.snap` files and strangers in etcd's `member/snap` directory.
@Suite("etcd .snap bad input")
struct EtcdSnapshotBadInputTests {
    static let good = Snapshot(data: Array("older".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 1, term: 1))
    static let victim = Snapshot(data: Array("the newest snapshot, about to be damaged".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2]), index: 9, term: 3))

    static func victimBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        ProtobufRecordCodec().encodeSnapshot(victim, into: &bytes)
        return bytes
    }

    /// Loads with `bytes` as the newest file beside an older good one; returns the snapshot
    /// loaded, the names after, and the warnings logged.
    static func load(newest bytes: [UInt8]) throws -> (loaded: Snapshot?, names: [String], warnings: [String]) {
        try withTemporaryDirectory { directory in
            let handler = InMemoryLogHandler()
            let store = try EtcdSnapshotStore(directory: directory.path, fileSystem: SyncHookFileSystem.withoutSyncs(), logger: Logger(label: "test", factory: { _ in handler }))
            try store.save(good)
            try writeBytes(bytes, to: directory.file(FileStoreKind.etcd.fileName(victim.metadata.marker)))
            let loaded = try store.loadNewest()
            return (loaded, directory.names(), handler.entries.filter { $0.level == .warning }.map { "\($0.message)" })
        }
    }

    @Test("a .snap truncated at any offset, or empty, is set aside")
    func truncatedAnywhere() throws {
        let bytes = try Self.victimBytes()
        for length in 0..<bytes.count {
            let outcome = try Self.load(newest: Array(bytes[..<length]))
            #expect(outcome.loaded == Self.good, "truncated to \(length)")
            #expect(outcome.names.contains(FileStoreKind.etcd.fileName(Self.victim.metadata.marker) + ".broken"), "truncated to \(length)")
            #expect(outcome.warnings.contains { $0.contains("set aside") }, "truncated to \(length)")
        }
    }

    @Test("a flipped bit anywhere in a .snap is set aside or changes nothing")
    func flippedBits() throws {
        let bytes = try Self.victimBytes()
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= 1 << (bit % 8)
            let outcome = try Self.load(newest: damaged)
            guard outcome.loaded != Self.victim else { continue }
            #expect(outcome.loaded == Self.good, "bit \(bit)")
            #expect(outcome.names.contains(FileStoreKind.etcd.fileName(Self.victim.metadata.marker) + ".broken"), "bit \(bit)")
        }
    }

    @Test("etcd's own files in member/snap are left alone without warnings; strangers are warned about")
    func etcdFilesAndStrangers() throws {
        try withTemporaryDirectory { directory in
            let etcdFiles = ["db", "000000000000000a.snap.db", "db.tmp123456"]
            let strangers = ["0000000000000002-000000000000000A.snap", "2-10.snap", "0000000000000002-000000000000000a.snap.lz4"]
            for name in etcdFiles + strangers { try writeBytes([1, 2, 3], to: directory.file(name)) }
            let temporary = FileStoreKind.etcd.fileName(Self.victim.metadata.marker) + ".0123456789abcdef.tmp"
            try writeBytes(try Self.victimBytes(), to: directory.file(temporary))
            let handler = InMemoryLogHandler()
            let store = try EtcdSnapshotStore(directory: directory.path, logger: Logger(label: "test", factory: { _ in handler }))
            #expect(try store.list().isEmpty)
            #expect(try store.loadNewest() == nil)
            #expect(directory.names() == (etcdFiles + strangers).sorted(), "only the crash leftover is removed")
            let warnings = handler.entries.filter { $0.level == .warning }.map { "\($0.message)" }
            for name in strangers { #expect(warnings.contains { $0.contains("'\(name)'") }, "\(name)") }
            for name in etcdFiles { #expect(!warnings.contains { $0.contains("'\(name)'") }, "\(name)") }
        }
    }
}
