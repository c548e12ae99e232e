import EtcdStorage
import Foundation
import InMemoryLogging
import Logging
import RaftStorage
import RaftFiles
import TestSupport
import Testing

let firstSegment = "0000000000000000-0000000000000000.wal"

/// Reads the file at `path`, lets `change` damage its bytes, and writes them back.
func damage(_ path: String, _ change: (inout [UInt8]) throws -> Void) throws {
    var bytes = try readBytes(path)
    try change(&bytes)
    try writeBytes(bytes, to: path)
}

/// A one-segment WAL with `count` entries of `size` bytes, one save each; returns its records.
@discardableResult
func makeSingleSegmentWAL(at path: String, count: UInt64 = 6, size: Int = 700) throws -> [WALRecordInfo] {
    let wal = try WAL.create(at: path, metadata: Array("meta".utf8), codec: codec, options: smallOptions())
    for index in 1...count {
        try wal.save(hardState: .empty, entries: [Entry(term: 1, index: index, data: Array(repeating: UInt8(index), count: size))])
    }
    try wal.close()
    return try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true)).records
}

/// A WAL over several segments (4 KiB each); returns the segment file names.
func makeMultiSegmentWAL(at path: String, count: UInt64 = 40) throws -> [String] {
    let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions(segmentSize: 4096))
    for index in 1...count {
        try wal.save(hardState: HardState(term: 1, vote: 1, commit: index), entries: [Entry(term: 1, index: index, data: Array(repeating: 3, count: 500))])
    }
    try wal.close()
    return walFiles(path)
}

@Suite("Bad input")
struct BadInputTests {
    @Test("truncation at every 8-byte boundary inside the last two records: read returns what precedes it, repair recovers and appends")
    func truncation() throws {
        let source = TemporaryDirectory()
        defer { source.remove() }
        let records = try makeSingleSegmentWAL(at: source.file("wal"))
        let original = try readBytes(source.file("wal") + "/" + firstSegment)
        let lastTwo = Array(records.suffix(2))
        let start = Int(lastTwo[0].offset), end = Int(lastTwo[1].offset) + lastTwo[1].frameSize
        var cuts = 0
        for cut in stride(from: start + 8, to: end, by: 8) where cut != Int(lastTwo[1].offset) {
            cuts += 1
            let directory = TemporaryDirectory()
            defer { directory.remove() }
            let path = directory.file("wal")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try writeBytes(Array(original[..<cut]), to: path + "/" + firstSegment)

            let complete = records.filter { Int($0.offset) + $0.frameSize <= cut }
            let broken = records.first { Int($0.offset) + $0.frameSize > cut }!
            let replay = try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
            #expect(replay.error?.code == .unexpectedEnd, "cut at \(cut)")
            #expect(replay.error?.offset == broken.offset, "cut at \(cut)")
            #expect(replay.error?.path?.hasSuffix(firstSegment) == true)
            #expect(replay.records.map(\.offset) == complete.map(\.offset), "cut at \(cut)")
            #expect(replay.records.map(\.record) == complete.map(\.record), "cut at \(cut)")

            let entryCount = UInt64(complete.filter { if case .entry = $0.record { true } else { false } }.count)
            let store = try WALLogStore(directory: path, codec: codec)
            #expect(store.repair == .truncated(path: path + "/" + firstSegment, offset: broken.offset, backup: path + "/" + firstSegment + ".broken"))
            #expect(try store.lastIndex() == entryCount)
            #expect(try readBytes(path + "/" + firstSegment + ".broken") == Array(original[..<cut]))
            try store.append([Entry(term: 2, index: entryCount + 1, data: [42])])
            try store.close()
            let reopened = try WALLogStore(directory: path, codec: codec)
            #expect(reopened.repair == nil, "nothing left to repair")
            #expect(try reopened.entries(from: 1).map(\.index) == Array(1...(entryCount + 1)))
            #expect(try reopened.term(at: entryCount + 1) == 2)
            try reopened.close()
        }
        #expect(cuts > 100)
    }

    @Test("the last record with a zeroed sector (to its end or not) is a torn write; a partly zeroed one, written whole, is damage")
    func zeroedSector() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let records = try makeSingleSegmentWAL(at: path, count: 3, size: 3000)
        let segment = path + "/" + firstSegment
        let original = try readBytes(segment)
        let last = records.last!
        let sector = (Int(last.offset) + 8 + 511) / 512 * 512
        #expect(sector + 512 <= Int(last.offset) + last.frameSize)

        var torn = original
        for byte in sector..<torn.count { torn[byte] = 0 }
        try writeBytes(torn, to: segment)
        let replay = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(replay.error?.code == .unexpectedEnd)
        #expect(replay.error?.offset == last.offset)
        #expect(replay.entries.map(\.index) == [1, 2])

        // A sector that never arrived while later ones did: nothing intact follows the record,
        // so it may be a write the disk reordered, never acknowledged.
        var hole = original
        for byte in sector..<(sector + 512) { hole[byte] = 0 }
        try writeBytes(hole, to: segment)
        let holed = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(holed.error?.code == .unexpectedEnd)
        #expect(holed.error?.offset == last.offset)
        #expect(holed.entries.map(\.index) == [1, 2])

        var partly = original
        for byte in (sector + 100)..<(sector + 200) { partly[byte] = 0 }
        try writeBytes(partly, to: segment)
        let mismatch = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(mismatch.error?.code == .crcMismatch)
        #expect(mismatch.error?.offset == last.offset)
    }

    @Test("a bit flip in an earlier record is a CRC mismatch naming file and offset, and is not repaired")
    func bitFlip() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let records = try makeSingleSegmentWAL(at: path)
        let segment = path + "/" + firstSegment
        let target = records[4] // entry 2
        #expect(target.record == .entry(Entry(term: 1, index: 2, data: Array(repeating: 2, count: 700))))
        try damage(segment) { $0[Int(target.offset) + target.frameSize / 2] ^= 0x10 }

        let replay = try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
        let error = try #require(replay.error)
        #expect(error.code == .crcMismatch)
        #expect(error.path == segment)
        #expect(error.offset == target.offset)
        #expect(error.description.contains(firstSegment))
        #expect(replay.records == Array(records[..<4]))
        #expect { _ = try WALLogStore(directory: path, codec: codec) } throws: { ($0 as? StorageError)?.code == .crcMismatch }
        #expect(!FileManager.default.fileExists(atPath: segment + ".broken"))
    }

    @Test("a length word claiming 2^55 bytes over an intact last record is damage, and corrupt in an earlier segment")
    func hugeLength() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let records = try makeSingleSegmentWAL(at: path)
        let segment = path + "/" + firstSegment
        let last = records.last!
        let word = UInt64(1) << 55
        try damage(segment) { for byte in 0..<8 { $0[Int(last.offset) + byte] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(byte))) } }
        // The record's bytes verify with the length they really have: only the word is damaged.
        let replay = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(replay.error?.code == .corrupt)
        #expect(replay.error?.offset == last.offset)
        #expect(replay.error?.message.contains("intact record") == true)
        #expect(replay.entries.count == 5)

        let multi = directory.file("multi")
        let files = try makeMultiSegmentWAL(at: multi)
        let middle = multi + "/" + files[1]
        try damage(middle) { for byte in 0..<8 { $0[byte] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(byte))) } }
        let middleReplay = try WAL.read(at: multi, from: .zero, codec: codec)
        #expect(middleReplay.error?.code == .corrupt)
        #expect(middleReplay.error?.path == middle)
        #expect(middleReplay.error?.offset == 0)
    }

    @Test("an unknown record type is a corrupt record at its offset")
    func unknownType() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let records = try makeSingleSegmentWAL(at: path)
        let segment = path + "/" + firstSegment
        let end = Int(records.last!.offset) + records.last!.frameSize
        let frame = bytes("04 00 00 00 00 00 00 84 08 09 10 01 00 00 00 00")
        try damage(segment) { $0.replaceSubrange(end..<(end + frame.count), with: frame) }
        let replay = try WAL.read(at: path, from: .zero, codec: codec)
        let error = try #require(replay.error)
        #expect(error.code == .corrupt)
        #expect(error.message.contains("unexpected block type 9"))
        #expect(error.offset == Int64(end) + 8)
        #expect(error.message.contains("record at offset \(end)"))
        #expect(replay.entries.count == 6)
    }

    @Test("a broken crc record at the start of a segment is a CRC mismatch")
    func brokenCRCRecord() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let files = try makeMultiSegmentWAL(at: path)
        let second = path + "/" + files[1]
        try damage(second) { content in
            #expect(Array(content[8..<11]) == [0x08, 0x04, 0x10])
            content[11] ^= 1
        }
        let replay = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(replay.error?.code == .crcMismatch)
        #expect(replay.error?.path == second)
        #expect(replay.error?.offset == 0)
        #expect(replay.error?.message.contains("wal: crc mismatch") == true)
    }

    @Test("a missing segment in the sequence is refused as not found")
    func missingSegment() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let files = try makeMultiSegmentWAL(at: path)
        #expect(files.count >= 4)
        try FileManager.default.removeItem(atPath: path + "/" + files[2])
        #expect { _ = try WAL.read(at: path, from: .zero, codec: codec) } throws: { error in
            guard let error = error as? StorageError else { return false }
            return error.code == .notFound && error.message.contains("gap")
        }
        #expect { _ = try WALLogStore(directory: path, codec: codec) } throws: { ($0 as? StorageError)?.code == .notFound }
    }

    @Test("stray files are ignored with a warning; spare segments and .broken copies silently")
    func strayFiles() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        try makeSingleSegmentWAL(at: path)
        for name in ["notes.txt", firstSegment + ".broken", "0.tmp", "0000000000000000-000000000000000A.wal"] {
            try writeBytes([1, 2, 3], to: path + "/" + name)
        }
        let logs = InMemoryLogHandler()
        var options = WALOptions()
        options.logger = Logger(label: "test", factory: { _ in logs })
        let replay = try WAL.read(at: path, from: .zero, codec: codec, options: options)
        #expect(replay.error == nil)
        #expect(replay.entries.count == 6)
        let warned = Set(logs.entries.filter { $0.level == .warning }.compactMap { $0.metadata["path"]?.description })
        #expect(warned == [path + "/notes.txt", path + "/0000000000000000-000000000000000A.wal"])
    }

    @Test(
        "random damage anywhere in a WAL: the replay keeps every record before it, and reports the damage with file and offset or returns the whole log",
        arguments: [UInt64(1), 2, 3, 4])
    func randomDamage(seed: UInt64) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let files = try makeMultiSegmentWAL(at: path, count: 12)
        let original = try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
        try #require(original.error == nil && original.entries.count == 12 && files.count > 1)
        let originalMarkers = try WAL.validSnapshotMarkers(at: path, codec: codec)
        // Where each record lies: (file, offset, end); the records are in log order.
        let fileOrder = Dictionary(uniqueKeysWithValues: files.enumerated().map { (path + "/" + $0.element, $0.offset) })
        try #require(original.records.allSatisfy { fileOrder[$0.path] != nil })
        var generator = SeededBytes(seed: seed)
        var reported = 0
        for _ in 0..<40 {
            let fileIndex = Int(generator.next() % UInt64(files.count))
            let file = path + "/" + files[fileIndex]
            var content = try readBytes(file)
            let saved = content
            let position = Int(generator.next() % UInt64(min(content.count, 4096)))
            content[position] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            try writeBytes(content, to: file)
            let what = "\(files[fileIndex]) byte \(position)"

            // Damage at `position` cannot reach the records that end before it: their entries
            // come back whatever it does to the rest.
            let untouched = original.records.filter { record in
                let order = fileOrder[record.path]!
                return order < fileIndex || (order == fileIndex && Int(record.offset) + record.frameSize <= position)
            }
            let intact = untouched.filter { if case .entry = $0.record { true } else { false } }.count

            // Damage ends the replay (it does not throw): what it returns is the original log
            // cut somewhere after the untouched records, or, when nothing is reported (the byte
            // was in padding, in bits a length word does not use, or past the log's end), all of it.
            let replay = try WAL.read(at: path, from: .zero, codec: codec)
            #expect(replay.entries == Array(original.entries.prefix(replay.entries.count)), "\(what): entries are not a prefix of the log's")
            #expect(replay.entries.count >= intact, "\(what): \(replay.entries.count) entries, but \(intact) lie before the damage")
            if let error = replay.error {
                reported += 1
                #expect(error.isDamage || error.code == .unexpectedEnd, "\(what): \(error)")
                #expect(error.path != nil && error.offset != nil, "\(what): \(error) does not say where")
            } else {
                #expect(replay.entries == original.entries && replay.hardState == original.hardState, "\(what): read cleanly but lost records")
            }

            // The marker scan accepts a torn tail and refuses damage; what it returns is the log's.
            do {
                let markers = try WAL.validSnapshotMarkers(at: path, codec: codec)
                #expect(Set(markers).isSubset(of: Set(originalMarkers)), "\(what): markers \(markers)")
                if replay.error == nil { #expect(markers == originalMarkers, "\(what)") }
            } catch {
                #expect(error.isDamage, "\(what): the marker scan failed with \(error)")
            }
            try writeBytes(saved, to: file)
        }
        // Most bytes of a segment belong to records, which the CRC chain covers.
        #expect(reported > 0, "no damage was reported")
    }
}
