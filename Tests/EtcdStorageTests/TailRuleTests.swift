import EtcdStorage
import Foundation
import MemoryStore
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// The rule that tells a torn tail (cut off on open) from damage (refused), in the last segment.
@Suite("Torn tail or damage")
struct TailRuleTests {
    /// A WAL in one preallocated segment written through `WALLogStore`, every save synced:
    /// entries 1...count (one per save, a HardState with each), snapshot markers at 5 and 10.
    static func makeLog(at path: String, count: UInt64 = 24) throws -> (records: [WALRecordInfo], state: HardState) {
        let store = try WALLogStore.open(at: path, options: .init(wal: WALOptions(segmentSize: 1 << 20)))
        var state = HardState()
        for index in 1...count {
            let term = index < 12 ? UInt64(1) : 2
            state = HardState(term: term, vote: 1, commit: index)
            try store.save(hardState: state, entries: [Entry(term: term, index: index, data: Array(repeating: UInt8(index), count: 40))])
            if index == 5 || index == 10 { try store.recordSnapshot(SnapshotMetadata(index: index, term: 1)) }
        }
        try store.close()
        let records = try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true)).records
        return (records, state)
    }

    /// A log from ``makeLog(at:count:)`` in a new directory: its records, its segment's path
    /// and bytes. The caller removes `directory`.
    static func preparedLog() throws -> (directory: TemporaryDirectory, path: String, records: [WALRecordInfo], segment: String, original: [UInt8]) {
        let directory = TemporaryDirectory()
        let path = directory.file("wal")
        let (records, _) = try makeLog(at: path)
        let segment = path + "/" + firstSegment
        return (directory, path, records, segment, try readBytes(segment))
    }

    /// Writes `original` changed by `change` to `segment`, then expects opening to refuse it.
    static func expectRefused(
        _ path: String, _ segment: String, original: [UInt8], comment: Comment, _ change: (inout [UInt8]) -> Void
    ) throws {
        var damaged = original
        change(&damaged)
        try writeBytes(damaged, to: segment)
        try expectRefused(path, segment, comment: comment)
    }

    /// Opening refuses with damage naming the segment, and changes nothing on disk.
    static func expectRefused(_ path: String, _ segment: String, comment: Comment) throws {
        let before = try readBytes(segment)
        do {
            _ = try WALLogStore.open(at: path)
            Issue.record("opened: \(comment)")
        } catch {
            #expect(error.isDamage && error.path == segment && error.offset != nil, "\(comment): \(error)")
        }
        #expect(try readBytes(segment) == before, comment)
        #expect(!FileManager.default.fileExists(atPath: segment + ".broken"), comment)
    }

    @Test("two bytes of a length word changed early in the last segment: opening refuses, nothing is cut, term and vote do not go back")
    func damagedLengthWord() throws {
        let (directory, path, records, segment, original) = try Self.preparedLog()
        defer { directory.remove() }
        let target = try #require(records.first { if case .entry(let entry) = $0.record { entry.index == 4 } else { false } })
        // Each pair of bytes of the word, changed upwards and downwards.
        for byte in 0..<7 {
            for delta: UInt8 in [0x01, 0x40, 0xff] {
                try Self.expectRefused(path, segment, original: original, comment: "byte \(byte), delta \(delta)") { bytes in
                    bytes[Int(target.offset) + byte] &+= delta
                    bytes[Int(target.offset) + byte + 1] ^= delta
                }
            }
        }
    }

    @Test("a flipped bit or a zeroed length word in any record but the last, a zeroed sector before the last two: damage, refused")
    func damageBeforeTheEnd() throws {
        let (directory, path, records, segment, original) = try Self.preparedLog()
        defer { directory.remove() }
        for record in records.dropFirst().dropLast() {
            let start = Int(record.offset)
            try Self.expectRefused(path, segment, original: original, comment: "bit flipped in the record at \(start)") { bytes in
                bytes[start + record.frameSize / 2] ^= 0x04
            }
            try Self.expectRefused(path, segment, original: original, comment: "length word zeroed at \(start)") { bytes in
                bytes.replaceSubrange(start..<(start + 8), with: repeatElement(0, count: 8))
            }
        }
        // Sectors before the last two records, so intact records follow each.
        let lastTwo = Int(records[records.count - 2].offset)
        for sector in stride(from: 512, through: lastTwo - 512, by: 512) {
            try Self.expectRefused(path, segment, original: original, comment: "sector at \(sector) zeroed") { bytes in
                bytes.replaceSubrange(sector..<(sector + 512), with: repeatElement(0, count: 512))
            }
        }
    }

    @Test("a write cut anywhere in its last record, even inside a sector, with zeros or the end of the file after it: a torn tail, repaired")
    func cutAnywhere() throws {
        let source = TemporaryDirectory()
        defer { source.remove() }
        let (records, _) = try Self.makeLog(at: source.file("wal"), count: 6)
        let original = try readBytes(source.file("wal") + "/" + firstSegment)
        let last = records.last!
        let start = Int(last.offset), end = start + last.frameSize
        for cut in (start + 1)..<end {
            for endsFile in [false, true] {
                let directory = TemporaryDirectory()
                defer { directory.remove() }
                let path = directory.file("wal")
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                var bytes = original
                for byte in cut..<bytes.count { bytes[byte] = 0 }
                if endsFile { bytes.removeSubrange(cut...) }
                try writeBytes(bytes, to: path + "/" + firstSegment)
                let store = try WALLogStore.open(at: path)
                #expect(store.repair != nil, "cut at \(cut), ends file: \(endsFile)")
                #expect(try store.lastIndex() == 6, "cut at \(cut)")
                let action = try #require(store.recoveryActions.first)
                #expect(store.recoveryActions.count == 1)
                #expect(action.kind == .tornTailCut && action.offset == Int64(start))
                #expect((1...Int64(cut - start)).contains(action.bytesRemoved ?? 0), "cut at \(cut): \(action)")
                try store.close()
            }
        }
    }

    @Test("a length word enlarged to swallow the records after it is damage, wherever its claimed end falls")
    func swallowingLengthWord() throws {
        let (directory, path, records, segment, original) = try Self.preparedLog()
        defer { directory.remove() }
        let target = records[records.count / 2]
        for claimed in [UInt64(1 << 19), UInt64(1 << 20) - UInt64(target.offset) - 8, 1 << 40] {
            try Self.expectRefused(path, segment, original: original, comment: "length \(claimed)") { bytes in
                for byte in 0..<8 { bytes[Int(target.offset) + byte] = UInt8(truncatingIfNeeded: claimed >> (8 * UInt64(byte))) }
            }
        }
    }
}

extension TailRuleTests {
    @Test("bytes after the end of the log that are not records (garbage behind a zero length word) end the log as etcd does, and are zeroed on open")
    func garbageAfterTheEnd() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let (records, state) = try Self.makeLog(at: path, count: 6)
        let segment = path + "/" + firstSegment
        let end = Int(records.last!.offset) + records.last!.frameSize
        try damage(segment) { bytes in bytes.replaceSubrange((end + 64)..<(end + 88), with: Array("\u{10}\0\0\0\0\0\0\0garbage!garbage!".utf8)) }
        let store = try WALLogStore.open(at: path)
        #expect(store.repair == nil)
        #expect(try store.lastIndex() == 6)
        #expect(try store.hardState() == state)
        try store.close()
        #expect(try readBytes(segment)[end...].allSatisfy { $0 == 0 })
    }

    @Test("damage discarded when told to: the report names what is lost, the log opens with what precedes it, and recovery says so")
    func discardFromDamage() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let (records, _) = try Self.makeLog(at: path)
        let segment = path + "/" + firstSegment
        let target = try #require(records.first { if case .entry(let entry) = $0.record { entry.index == 8 } else { false } })
        try damage(segment) { $0[Int(target.offset) + target.frameSize / 2] ^= 0x01 }
        let report = try #require(try WAL.damageReport(at: path, codec: codec))
        #expect(report.path == segment)
        #expect(report.offset == target.offset)
        #expect(report.lastIntactIndex == 7)
        #expect(report.lastIntactHardState == HardState(term: 1, vote: 1, commit: 7))
        #expect(report.intactMarkers.map(\.index) == [0, 5])
        #expect(report.description.contains("every entry after index 7"))
        #expect(throws: StorageError.self) { _ = try WALLogStore.open(at: path) }

        let store = try WALLogStore.open(at: path, options: .init(recoveryMode: .discardFromDamage))
        #expect(try store.lastIndex() == 7)
        #expect(try store.hardState() == HardState(term: 1, vote: 1, commit: 7))
        #expect(store.recoveryActions.map(\.kind) == [.damageDiscarded])
        #expect(store.recoveryActions.first?.offset == target.offset)
        #expect(FileManager.default.fileExists(atPath: segment + ".broken"))
        try store.save(hardState: HardState(term: 2, vote: 1, commit: 8), entries: [Entry(term: 2, index: 8, data: [8])])
        try store.close()
        let reopened = try WALLogStore.open(at: path)
        #expect(try reopened.lastIndex() == 8)
        #expect(reopened.recoveryActions.isEmpty)
        try reopened.close()
    }
}

extension TailRuleTests {
    @Test("Storage.recovery reports the torn tail its log cut, and nothing after a clean restart")
    func storageReportsTheCut() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let (records, state) = try Self.makeLog(at: path, count: 6)
        let segment = path + "/" + firstSegment
        let last = records.last!
        try damage(segment) { bytes in for byte in (Int(last.offset) + 12)..<bytes.count { bytes[byte] = 0 } }
        let storage = try Storage(log: WALLogStore.open(at: path), snapshots: MemorySnapshotStore())
        #expect(storage.recovery.actions.map(\.kind) == [.tornTailCut])
        #expect(storage.recovery.actions.first?.path == segment)
        #expect(storage.recovery.actions.first?.offset == last.offset)
        // The cut record was the last HardState: the one before it comes back.
        #expect(try storage.initialState().hardState == HardState(term: state.term, vote: 1, commit: 5))
        try storage.close()
        let again = try Storage(log: WALLogStore.open(at: path), snapshots: MemorySnapshotStore())
        #expect(again.recovery.actions.isEmpty)
        try again.close()
    }
}
