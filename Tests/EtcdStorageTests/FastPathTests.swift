import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// etcd's codec takes specialised paths (entries framed straight into the page buffer, records
/// decoded inline); every other codec goes through `RecordCodec`. A codec that only forwards
/// to `ProtobufRecordCodec` takes the generic paths, so both must write identical bytes and
/// read identical logs.
/// `ProtobufRecordCodec` behind the protocol, so the WAL cannot recognise it and takes the
/// generic paths; with a `formatName`, to check that WALs written with it are told apart.
struct ForwardingCodec: RecordCodec {
    var formatName: String? = nil
    let inner = ProtobufRecordCodec()

    func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        inner.encode(record, into: &buffer, checksum: checksum)
    }
    func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord { try inner.decode(bytes) }
    func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) { inner.encodeSnapshot(snapshot, into: &buffer) }
    func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot { try inner.decodeSnapshot(bytes) }
}

@Suite("Fast paths match the generic codec paths")
struct FastPathTests {
    /// Entries around every boundary the fast path has: varints of 1 to 10 bytes, negative
    /// types, absent, empty, short and long data, field headers just under and over 16 bytes.
    static func awkwardEntries() -> [Entry] {
        var random = SeededBytes(seed: 7)
        var entries: [Entry] = []
        var index: UInt64 = 1
        let terms: [UInt64] = [1, 127, 128, 16_383, 16_384, 1 << 34, 1 << 35, UInt64.max]
        let types: [EntryType] = [.normal, .confChange, .confChangeV2, EntryType(rawValue: 127), EntryType(rawValue: 128), EntryType(rawValue: -1), EntryType(rawValue: 1 << 30)]
        let sizes: [Int?] = [nil, 0, 1, 7, 8, 100, 127, 128, 1000, 4096, 16_383, 16_384, 70_000]
        for round in 0..<6 {
            for term in terms {
                for size in sizes {
                    let type = types[(round + entries.count) % types.count]
                    entries.append(Entry(term: term, index: index, type: type, data: size.map { random.bytes($0) }))
                    index += 1
                }
            }
            // Indexes of every varint length too.
            index = [UInt64(200), 20_000, 3_000_000, 1 << 30, 1 << 36, 1 << 60][round]
        }
        // Five-byte type, term and index with no data: 18 bytes of field headers, past the 16
        // the fast path holds.
        entries.append(Entry(term: 1 << 34, index: (1 << 34) + 1000, type: EntryType(rawValue: 1 << 30), data: nil))
        entries.append(Entry(term: 1 << 34, index: (1 << 34) + 1001, type: EntryType(rawValue: 1 << 30), data: []))
        return entries
    }

    @Test("entry frames written by the fast path are byte for byte the generic codec's")
    func sameBytes() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let options = WALOptions(segmentSize: 256 * 1024)
        let fast = try WAL.create(at: directory.file("fast"), metadata: [1, 2], codec: ProtobufRecordCodec(), options: options)
        let generic = try WAL.create(at: directory.file("generic"), metadata: [1, 2], codec: ForwardingCodec(), options: options)
        let entries = Self.awkwardEntries()
        // Batches of several sizes, with a HardState between them; gaps in the indexes are
        // fine for the WAL itself (the log store checks them).
        var position = 0
        var batch = 1
        while position < entries.count {
            let slice = Array(entries[position..<min(position + batch, entries.count)])
            let state = HardState(term: 1, vote: 1, commit: UInt64(position))
            try fast.save(hardState: state, entries: slice)
            try generic.save(hardState: state, entries: slice)
            position += slice.count
            batch = batch % 13 + 1
        }
        try fast.close()
        try generic.close()

        let fastFiles = try FileManager.default.contentsOfDirectory(atPath: directory.file("fast")).sorted()
        let genericFiles = try FileManager.default.contentsOfDirectory(atPath: directory.file("generic")).sorted()
        #expect(fastFiles == genericFiles)
        #expect(fastFiles.filter { $0.hasSuffix(".wal") }.count > 2, "the entries should span several segments")
        for name in fastFiles where name.hasSuffix(".wal") {
            let a = try #require(FileManager.default.contents(atPath: directory.file("fast") + "/" + name))
            let b = try #require(FileManager.default.contents(atPath: directory.file("generic") + "/" + name))
            #expect(a == b, "\(name) differs")
        }
    }

    @Test("replays through the inline decoder and through the codec give the same log")
    func sameReplay() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: nil, codec: ProtobufRecordCodec(), options: WALOptions(segmentSize: 128 * 1024))
        let entries = Self.awkwardEntries().enumerated().map { offset, entry in
            Entry(term: entry.term, index: UInt64(offset + 1), type: entry.type, data: entry.data)
        }
        for start in stride(from: 0, to: entries.count, by: 7) {
            try wal.save(hardState: HardState(term: 2, vote: 1, commit: UInt64(start)), entries: Array(entries[start..<min(start + 7, entries.count)]))
        }
        try wal.saveSnapshot(SnapshotMarker(index: 20, term: entries[19].term))
        try wal.close()

        let fast = try WAL.read(at: path, from: .zero, codec: ProtobufRecordCodec(), replayOptions: WALReplayOptions(collectsRecords: true))
        let generic = try WAL<ForwardingCodec>.read(at: path, from: .zero, codec: ForwardingCodec(), replayOptions: WALReplayOptions(collectsRecords: true))
        #expect(fast.error == nil)
        #expect(fast.entries == entries)
        #expect(fast.entries == generic.entries)
        #expect(fast.records == generic.records)
        #expect(fast.hardState == generic.hardState)
        #expect(fast.snapshots == generic.snapshots)

        // And the streamed replay hands out the same entries.
        var streamed: [Entry] = []
        let summary = try WAL.replay(at: path, from: .zero, codec: ProtobufRecordCodec(), batchBytes: 10_000) { batch in
            #expect(batch.restart == nil)
            if let first = batch.entries.first?.index { streamed.removeAll { $0.index >= first } }
            streamed += batch.entries
        }
        #expect(summary.error == nil)
        #expect(summary.entries.isEmpty)
        #expect(summary.lastIndex == UInt64(entries.count))
        #expect(streamed == entries)
    }
}
