import EtcdStorage
import Foundation
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Testing

/// `Storage` compacts never past the oldest snapshot it keeps, so recovery can fall back to it
/// when the newer ones are unreadable. That must still hold after restarts: an open starts at
/// the newest marker, and the segments before it hold the entries the fallback needs.
@Suite("Falling back to an older snapshot after a restart")
struct FallbackAfterRestartTests {
    static func open(_ fileSystem: FaultInjectingFileSystem) throws -> Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore> {
        try Storage(
            log: WALLogStore.open(at: "/data/wal", options: .init(wal: WALOptions(fileSystem: fileSystem, segmentSize: 4096), retainedSegments: 1)),
            snapshots: EtcdSnapshotStore(directory: "/data/snap", fileSystem: fileSystem),
            options: .init(retainedEntries: 0, retainedSnapshots: 3))
    }

    static func write(_ indexes: ClosedRange<UInt64>, to storage: Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>) throws {
        for index in indexes {
            try storage.save(
                hardState: HardState(term: 1, vote: 1, commit: index),
                entries: [Entry(term: 1, index: index, data: Array(repeating: UInt8(truncatingIfNeeded: index), count: 500))])
        }
    }

    @Test func theOldestSnapshotKeptStillRecoversAfterARestart() throws {
        let fileSystem = FaultInjectingFileSystem()
        let first = try Self.open(fileSystem)
        try Self.write(1...200, to: first)
        for index in [UInt64(50), 100, 150] { try first.createSnapshot(at: index, confState: ConfState(voters: [1]), data: [UInt8(index)]) }
        try first.close()

        let second = try Self.open(fileSystem)
        try Self.write(201...260, to: second)
        try second.createSnapshot(at: 250, data: [250])
        try second.close()

        // The two newest snapshot files are lost: recovery falls back to the oldest one kept.
        for index in [150, 250] {
            try fileSystem.removeFile("/data/snap/" + String(format: "%016x-%016x.snap", 1, index))
        }
        let recovered = try Self.open(fileSystem)
        #expect(try recovered.snapshot().metadata.index == 100)
        #expect(try recovered.lastIndex() == 260)
        let entries = try recovered.entries(in: 101..<261)
        #expect(entries.map(\.index) == Array(101...260))
        #expect(entries.allSatisfy { $0.data == Array(repeating: UInt8(truncatingIfNeeded: $0.index), count: 500) })
        try recovered.close()
    }
}
