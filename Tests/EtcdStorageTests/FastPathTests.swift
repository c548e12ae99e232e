import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// The WAL reaches a codec only through `RecordCodec`: runs of entries through
/// `frameEntries` (etcd's codec frames them straight into the page buffer), records
/// through `decodeLogRecord`. A codec that only forwards the plain requirements to
/// `ProtobufRecordCodec` gets the protocol's defaults (no write fast path: record by record
/// through `encode`; `decode` for reading), so both must write identical bytes and read
/// identical logs. With a `formatName`, it also checks that WALs written with it are told
/// apart.
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

@Suite("Fast paths match the plain codec paths")
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

    @Test("entry frames written by the fast path are byte for byte the plain path's")
    func sameBytes() throws {
        let directory = TemporaryDirectory("fast-path")
        defer { directory.remove() }
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

    @Test("replays through the read fast path and through decode give the same log")
    func sameReplay() throws {
        let directory = TemporaryDirectory("fast-path")
        defer { directory.remove() }
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

    /// Frames `entries` the way the WAL does, through the protocol only: runs into a buffer of
    /// `bufferSize` bytes with `byteBudget`, a larger buffer when an entry asks for one.
    /// `nil` when the codec has no write fast path.
    static func framesThroughFastPath(
        _ codec: some RecordCodec, _ entries: [Entry], crc: inout UInt32, bufferSize: Int, byteBudget: Int
    ) throws -> [UInt8]? {
        var frames: [UInt8] = []
        var next = 0
        var size = bufferSize
        while next < entries.count {
            var buffer = [UInt8](repeating: 0xEE, count: size)
            let written = buffer.withUnsafeMutableBytes { raw in
                entries.withUnsafeBufferPointer { entries in
                    codec.frameEntries(UnsafeBufferPointer(rebasing: entries[next...]), into: raw, crc: &crc, byteBudget: byteBudget)
                }
            }
            guard let written else { return nil }
            if written.entryCount == 0 {
                try #require(written.neededCount > size, "entry \(next) does not fit in \(size) bytes, and the codec asks for \(written.neededCount)")
                size = written.neededCount
                continue
            }
            frames += buffer[0..<written.byteCount]
            next += written.entryCount
            size = bufferSize
        }
        return frames
    }

    /// `RecordFraming`'s frames of `codec.encode`'s records, the CRC32C chain continued.
    static func framesThroughEncode(_ codec: some RecordCodec, _ entries: [Entry], crc: inout UInt32) -> [UInt8] {
        var frames: [UInt8] = []
        for entry in entries { RecordFraming.append(.entry(entry), encodedBy: codec, crc: &crc, to: &frames) }
        return frames
    }

    @Test("through the protocol, etcd's codec frames and reads entries exactly as its plain paths do")
    func protocolFastPaths() throws {
        let codec = ProtobufRecordCodec()
        let entries = Self.awkwardEntries()
        for (bufferSize, byteBudget) in [(1 << 22, Int.max), (64 * 1024, 16 * 1024), (512, 256), (64, 0)] {
            var plainCRC: UInt32 = 0x1234_5678
            var fastCRC: UInt32 = 0x1234_5678
            let plain = Self.framesThroughEncode(codec, entries, crc: &plainCRC)
            let framed = try Self.framesThroughFastPath(codec, entries, crc: &fastCRC, bufferSize: bufferSize, byteBudget: byteBudget)
            let fast = try #require(framed)
            #expect(fast == plain, "buffer of \(bufferSize), budget \(byteBudget)")
            #expect(fastCRC == plainCRC, "buffer of \(bufferSize), budget \(byteBudget)")
        }
        // A codec with the defaults has no write fast path.
        var crc: UInt32 = 0
        let viaDefaults = try Self.framesThroughFastPath(ForwardingCodec(), entries, crc: &crc, bufferSize: 4096, byteBudget: 4096)
        #expect(viaDefaults == nil)

        // Reading each record back: whole, or index and term only, with decode's checksum and payload.
        var running: UInt32 = 0
        var sharedCount = 0
        for entry in entries {
            var record: [UInt8] = []
            codec.encode(.entry(entry), into: &record) { payload in
                running = CRC32C.update(running, payload)
                return running
            }
            let decoded = try codec.decode(record)
            #expect(decoded.record == .entry(entry))
            // The record in a shared buffer, two bytes in, as a log's reader holds it.
            let buffer = EntryBuffer(capacity: record.count + 2) { raw in
                ([0xEE, 0xEE] + record).withUnsafeBytes { raw.copyMemory(from: $0) }
                return record.count + 2
            }
            let inBuffer = UnsafeRawBufferPointer(rebasing: buffer.bytes[2...])
            for mode in [EntryDataMode.copy, .skip, .share(buffer)] {
                let read = try codec.decodeLogRecord(inBuffer, entryData: mode)
                let defaults = try ForwardingCodec().decodeLogRecord(inBuffer, entryData: mode)
                #expect(read == defaults, "\(mode)")
                #expect(read.checksum == decoded.checksum && read.checksum == running)
                #expect(read.payload == decoded.payload)
                switch mode {
                case .copy: #expect(read.body == .entry(entry))
                case .skip: #expect(read.body == .entryIndexAndTerm(index: entry.index, term: entry.term))
                case .share:
                    #expect(read.body == .entry(entry))
                    // etcd's codec leaves the data of its usual records where it lies.
                    guard case .entry(let shared) = read.body, let count = shared.dataCount, count > 0 else { break }
                    let start = shared.withData { $0!.baseAddress! }
                    if start >= buffer.bytes.baseAddress! && start + count <= buffer.bytes.baseAddress! + buffer.bytes.count { sharedCount += 1 }
                }
            }
        }
        #expect(sharedCount > 0)
    }

    @Test("a codec without fast paths works in the WAL and the log store through the defaults")
    func thirdPartyCodec() throws {
        let directory = TemporaryDirectory("fast-path")
        defer { directory.remove() }
        let codec = FixedWidthCodec()
        var crc: UInt32 = 0
        let viaDefaults = try Self.framesThroughFastPath(codec, [Entry(term: 1, index: 1)], crc: &crc, bufferSize: 4096, byteBudget: 4096)
        #expect(viaDefaults == nil)

        // Consecutive indexes and growing terms, as raft writes them; every kind of data.
        let entries = Self.awkwardEntries().enumerated().map { offset, entry in
            Entry(term: 1 + UInt64(offset / 50), index: UInt64(offset + 1), type: entry.type, data: entry.data)
        }
        let path = directory.file("wal")
        let options = WALLogStore<FixedWidthCodec>.Options(wal: WALOptions(segmentSize: 128 * 1024))
        let store = try WALLogStore(directory: path, codec: codec, options: options)
        var state = HardState()
        for start in stride(from: 0, to: entries.count, by: 9) {
            let batch = Array(entries[start..<min(start + 9, entries.count)])
            state = HardState(term: batch.last!.term, vote: 1, commit: UInt64(start))
            try store.save(hardState: state, entries: batch)
        }
        try store.close()

        // Reopened: the earlier segments are indexed without their data, the last read whole.
        let reopened = try WALLogStore(directory: path, codec: codec, options: options)
        #expect(try reopened.lastIndex() == UInt64(entries.count))
        #expect(try reopened.entries(in: 1..<UInt64(entries.count + 1), maxBytes: .max) == entries)
        #expect(try reopened.hardState() == state)
        try reopened.close()

        let replay = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(replay.error == nil)
        #expect(replay.entries == entries)
        #expect(replay.segments.count > 2, "the entries should span several segments")
        #expect(try WAL.damageReport(at: path, codec: codec) == nil)
    }

    /// A codec whose write fast path reports more bytes than the buffer holds.
    struct OverreportingCodec: RecordCodec {
        let inner = FixedWidthCodec()
        var formatName: String? { inner.formatName }
        func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
            inner.encode(record, into: &buffer, checksum: checksum)
        }
        func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord { try inner.decode(bytes) }
        func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) { inner.encodeSnapshot(snapshot, into: &buffer) }
        func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot { try inner.decodeSnapshot(bytes) }
        func frameEntries(
            _ entries: UnsafeBufferPointer<Entry>, into buffer: UnsafeMutableRawBufferPointer, crc: inout UInt32, byteBudget: Int
        ) -> FramedEntries? {
            FramedEntries(entryCount: 1, byteCount: buffer.count + 1, storedCount: 0, neededCount: 0)
        }
    }

    @Test("a codec that reports frames past the buffer gets an error, not a trap, and nothing is written")
    func overreportingCodec() throws {
        let directory = TemporaryDirectory("fast-path")
        defer { directory.remove() }
        let store = try WALLogStore(directory: directory.file("wal"), codec: OverreportingCodec())
        #expect(throws: StorageError.self) { try store.save(hardState: .empty, entries: [Entry(term: 1, index: 1, data: [1])]) }
        do {
            try store.save(hardState: .empty, entries: [Entry(term: 1, index: 1)])
        } catch {
            #expect(error.code == .invariantViolation || error.code == .closed, "\(error)")
        }
        #expect(try store.lastIndex() == 0, "no entry of the refused save is visible")
    }
}
