import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
import Testing

let codec = ProtobufRecordCodec()

func smallOptions(segmentSize: Int64 = 64 * 1024) -> WALOptions {
    WALOptions(segmentSize: segmentSize)
}

func walFiles(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".wal") }.sorted()
}

@Suite("WAL")
struct WALTests {
    @Test("a new WAL and its first save are byte-identical to etcd 3.4.23 (Docs/OnDiskFormat.md, Records)")
    func golden() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: Array("somedata".utf8), codec: codec, options: smallOptions(segmentSize: 4096))
        let first = path + "/0000000000000000-0000000000000000.wal"
        var content = try [UInt8](Data(contentsOf: URL(fileURLWithPath: first)))
        #expect(content.count == 4096, "preallocated to the segment size")
        #expect(Array(content[0..<72]) == bytes("""
            04 00 00 00 00 00 00 84 08 04 10 00 00 00 00 00
            12 00 00 00 00 00 00 86 08 01 10 85 d4 fd a0 07
            1a 08 73 6f 6d 65 64 61 74 61 00 00 00 00 00 00
            0e 00 00 00 00 00 00 82 08 05 10 80 db 81 c1 01
            1a 04 08 00 10 00 00 00
            """))
        #expect(content[72...].allSatisfy { $0 == 0 })

        try wal.save(hardState: HardState(term: 1, vote: 1, commit: 1),
                     entries: [Entry(term: 1, index: 1, data: Array("hi".utf8)), Entry(term: 1, index: 2)])
        try wal.saveSnapshot(SnapshotMarker(index: 2, term: 1))
        content = try [UInt8](Data(contentsOf: URL(fileURLWithPath: first)))
        #expect(Array(content[0x48..<0xb0]) == bytes("""
            1400000000000084 080210948699f40f1a0a08001001180122026869 00000000
            1000000000000000 08021090f5e6be091a06080010011802
            1000000000000000 080310a297f5a6031a06080110011801
            0e00000000000082 080510b5c2bafa011a0408021001 0000
            """))
        #expect(content[0xb0..<0xb8].allSatisfy { $0 == 0 })
        try wal.close()

        let mode = try FileManager.default.attributesOfItem(atPath: first)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let directoryMode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(directoryMode == 0o700)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    @Test("reopening replays entries, HardState and metadata, and appends after the last record")
    func reopenAndAppend() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: [1, 2, 3], codec: codec, options: smallOptions())
        try wal.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: (1...3).map { Entry(term: 1, index: $0, data: [UInt8($0)]) })
        try wal.close()

        let (reopened, replay) = try WAL.open(at: path, from: .zero, codec: codec, options: smallOptions())
        #expect(replay.error == nil)
        #expect(replay.metadata == [1, 2, 3])
        #expect(replay.hardState == HardState(term: 1, vote: 1, commit: 2))
        #expect(replay.entries.map(\.index) == [1, 2, 3])
        // Raft's rule: a later entry at index 2 replaces 2 and everything after it.
        try reopened.save(hardState: HardState(term: 2, vote: 2, commit: 2), entries: [Entry(term: 2, index: 2, data: [9])])
        try reopened.close()

        let again = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(again.error == nil)
        #expect(again.entries == [Entry(term: 1, index: 1, data: [1]), Entry(term: 2, index: 2, data: [9])])
        #expect(again.hardState == HardState(term: 2, vote: 2, commit: 2))
    }

    @Test("segments are cut at the segment size; the chain, metadata and HardState carry over")
    func cutSegments() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let options = smallOptions(segmentSize: 8 * 1024)
        let wal = try WAL.create(at: path, metadata: Array("meta".utf8), codec: codec, options: options)
        var expected: [Entry] = []
        for index in UInt64(1)...200 {
            let entry = Entry(term: 1, index: index, data: Array(repeating: UInt8(truncatingIfNeeded: index), count: 300))
            expected.append(entry)
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: index), entries: [entry])
        }
        let files = walFiles(path)
        #expect(files.count > 5)
        #expect(files.first == "0000000000000000-0000000000000000.wal")
        #expect(FileManager.default.fileExists(atPath: path + "/0.tmp") || FileManager.default.fileExists(atPath: path + "/1.tmp"))
        try wal.close()
        #expect(!FileManager.default.fileExists(atPath: path + "/0.tmp") && !FileManager.default.fileExists(atPath: path + "/1.tmp"))

        let replay = try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
        #expect(replay.error == nil)
        #expect(replay.entries == expected)
        #expect(replay.hardState.commit == 200)
        // Every later segment starts with crc, metadata, state.
        for file in files.dropFirst() {
            let records = replay.records.filter { $0.path.hasSuffix(file) }.prefix(3).map(\.record)
            guard case .crc = records.first else { Issue.record("\(file) does not start with a crc record"); continue }
            #expect(records[1] == .metadata(Array("meta".utf8)))
            guard case .hardState = records[2] else { Issue.record("\(file) lacks the state record"); continue }
        }
        // Names: sequence + 1, index = last entry written + 1.
        for (previous, next) in zip(files, files.dropFirst()) {
            let a = SegmentName(fileName: previous)!, b = SegmentName(fileName: next)!
            #expect(b.sequence == a.sequence + 1)
            #expect(b.index > a.index)
        }
        // A later segment can be read on its own from a snapshot it could hold.
        let middle = SegmentName(fileName: files[3])!
        let partial = try WAL.read(at: path, from: SnapshotMarker(index: middle.index - 1, term: 1), codec: codec)
        #expect(partial.error?.code == .snapshotNotFound, "no marker there, but the chain reads")
        #expect(partial.entries.last == expected.last)
    }

    @Test("a second writer is refused with .locked; readers are not")
    func locking() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions())
        #expect { _ = try WAL.open(at: path, from: .zero, codec: codec, options: smallOptions()) } throws: { error in
            (error as? StorageError)?.code == .locked
        }
        #expect(try WAL.read(at: path, from: .zero, codec: codec).error == nil)
        try wal.close()
        let (second, _) = try WAL.open(at: path, from: .zero, codec: codec, options: smallOptions())
        try second.close()
    }

    @Test("creating over an existing WAL is refused")
    func createTwice() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions()).close()
        #expect { _ = try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions()) } throws: { error in
            (error as? StorageError)?.code == .alreadyExists
        }
        #expect(WAL<ProtobufRecordCodec>.exists(at: path))
    }

    @Test("snapshot markers: open at one, mismatch, not found, valid markers by commit")
    func snapshotMarkers() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions())
        try wal.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: (1...5).map { Entry(term: 1, index: $0) })
        try wal.saveSnapshot(SnapshotMarker(index: 3, term: 1))
        try wal.saveSnapshot(SnapshotMarker(index: 5, term: 1))
        try wal.close()

        let fromThree = try WAL.read(at: path, from: SnapshotMarker(index: 3, term: 1), codec: codec)
        #expect(fromThree.error == nil)
        #expect(fromThree.entries.map(\.index) == [4, 5])
        #expect(try WAL.read(at: path, from: SnapshotMarker(index: 3, term: 2), codec: codec).error?.code == .snapshotMismatch)
        #expect(try WAL.read(at: path, from: SnapshotMarker(index: 4, term: 1), codec: codec).error?.code == .snapshotNotFound)
        // Unlike etcd, opening for writing reports the missing marker too.
        #expect { _ = try WAL.open(at: path, from: SnapshotMarker(index: 4, term: 1), codec: codec, options: smallOptions()) } throws: { error in
            (error as? StorageError)?.code == .snapshotNotFound
        }
        #expect(try WAL.validSnapshotMarkers(at: path, codec: codec) == [.zero, SnapshotMarker(index: 3, term: 1)])
        #expect(try WAL.verify(at: path, from: SnapshotMarker(index: 5, term: 1), codec: codec) == HardState(term: 1, vote: 1, commit: 3))
    }

    @Test("the HardState is carried into segments cut after reopening (unlike etcd)")
    func hardStateAfterReopen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let options = smallOptions(segmentSize: 4096)
        let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: options)
        try wal.save(hardState: HardState(term: 3, vote: 1, commit: 1), entries: [Entry(term: 3, index: 1)])
        try wal.close()
        let (reopened, _) = try WAL.open(at: path, from: .zero, codec: codec, options: options)
        #expect(reopened.lastHardState == HardState(term: 3, vote: 1, commit: 1))
        try reopened.save(hardState: .empty, entries: [Entry(term: 3, index: 2, data: Array(repeating: 1, count: 5000))])
        try reopened.save(hardState: .empty, entries: [Entry(term: 3, index: 3)])
        try reopened.close()
        let files = walFiles(path)
        #expect(files.count >= 2)
        let last = SegmentName(fileName: files.last!)!
        let replay = try WAL.read(at: path, from: SnapshotMarker(index: last.index - 1, term: 3), codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
        let lastRecords = replay.records.filter { $0.path.hasSuffix(files.last!) }.map(\.record)
        #expect(lastRecords.contains(.hardState(HardState(term: 3, vote: 1, commit: 1))))
    }
}
