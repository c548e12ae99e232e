import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
@testable import LZ4Codec
import RaftFiles
import RaftStorageTesting
import TestSupport
import Testing

/// `Base` behind the protocol's plain requirements only (format name included): the WAL then
/// takes the defaults, no write fast path and `decode` for reading.
struct PlainPathsCodec<Base: RecordCodec>: RecordCodec {
    let base: Base

    var formatName: String? { base.formatName }
    func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        base.encode(record, into: &buffer, checksum: checksum)
    }
    func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord { try base.decode(bytes) }
    func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) { base.encodeSnapshot(snapshot, into: &buffer) }
    func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot { try base.decodeSnapshot(bytes) }
}

@Suite("LZ4RecordCodec")
struct LZ4RecordCodecTests {
    typealias Codec = LZ4RecordCodec<ProtobufRecordCodec>

    // Snapshot markers go through the base unchanged, and etcd 3.4's records have no membership.
    static let suite = RecordCodecConformance(makeCodec: { Codec(base: ProtobufRecordCodec()) }, storesSnapshotMembership: false)
    /// With a tiny threshold, so the suite's random entries really are compressed.
    static let compressingEverything = RecordCodecConformance(
        makeCodec: { Codec(base: ProtobufRecordCodec(), threshold: 1) }, storesSnapshotMembership: false)

    @Test(arguments: suite.cases)
    func conformance(_ testCase: RecordCodecConformance<Codec>.Case) throws {
        try Self.suite.run(testCase)
    }

    @Test(arguments: compressingEverything.cases)
    func conformanceCompressingEverything(_ testCase: RecordCodecConformance<Codec>.Case) throws {
        try Self.compressingEverything.run(testCase)
    }

    @Test func formatNames() {
        #expect(Codec(base: ProtobufRecordCodec()).formatName == "lz4+etcd")
        #expect(LZ4RecordCodec(base: NonStreamingCodec()).formatName == "lz4+non-streaming")
        #expect(LZ4RecordCodec(base: Codec(base: ProtobufRecordCodec())).formatName == "lz4+lz4+etcd")
    }

    static func encode(_ codec: some RecordCodec, _ record: LogRecord) -> [UInt8] {
        var buffer: [UInt8] = []
        codec.encode(record, into: &buffer) { _ in 0 }
        return buffer
    }

    @Test("large compressible entries shrink, small and incompressible ones are stored")
    func compressesAboveTheThreshold() throws {
        let codec = Codec(base: ProtobufRecordCodec())
        let plain = ProtobufRecordCodec()
        for (data, compressed) in [
            (compressibleBytes(64 << 10), true), (compressibleBytes(8 << 10), true), (compressibleBytes((8 << 10) - 1), false),
            (randomBytes(64 << 10), false), ([UInt8](), false),
        ] {
            let entry = Entry(term: 3, index: 9, data: data)
            let encoded = Self.encode(codec, .entry(entry))
            let plainSize = Self.encode(plain, .entry(entry)).count
            if compressed {
                #expect(encoded.count < plainSize * 3 / 4, "\(data.count) compressible bytes: \(encoded.count) vs \(plainSize)")
            } else {
                #expect(encoded.count == plainSize + 1, "\(data.count) bytes stored with a marker byte")
            }
            #expect(try codec.decode(encoded).record == .entry(entry))
        }
        // Entries without data, and other records, are the base codec's bytes exactly.
        for record: LogRecord in [.entry(Entry(term: 1, index: 2)), .hardState(HardState(term: 1, vote: 2, commit: 3)), .metadata([1, 2]), .snapshot(SnapshotMarker(index: 5, term: 1)), .crc(7)] {
            #expect(Self.encode(codec, record) == Self.encode(plain, record))
        }
    }

    @Test("a wrong stored size or a malformed block is corrupt, and the claimed size is never allocated")
    func untrustedSizes() throws {
        let codec = Codec(base: ProtobufRecordCodec())
        let data = compressibleBytes(100_000)
        let wrapped = codec.wrap(data)
        #expect(wrapped.first == 1)
        #expect(try codec.unwrap(wrapped) == data)
        func withSize(_ size: UInt64) -> [UInt8] {
            var bytes: [UInt8] = [1]
            var value = size
            while value >= 0x80 { bytes.append(UInt8(truncatingIfNeeded: value) | 0x80); value >>= 7 }
            bytes.append(UInt8(value))
            var position = 1
            while wrapped[position] >= 0x80 { position += 1 }
            return bytes + wrapped[(position + 1)...]
        }
        expectStorageError(.corrupt, "one byte short") { try codec.unwrap(withSize(99_999)) }
        expectStorageError(.corrupt, "one byte more") { try codec.unwrap(withSize(100_001)) }
        expectStorageError(.corrupt, "a gigabyte") { try codec.unwrap(withSize(1 << 30)) }
        expectStorageError(.corrupt, "2^63") { try codec.unwrap(withSize(1 << 63)) }
        expectStorageError(.corrupt, "no marker") { try codec.unwrap([]) }
        expectStorageError(.corrupt, "unknown marker") { try codec.unwrap([7, 1, 2]) }
        expectStorageError(.corrupt, "truncated size") { try codec.unwrap([1, 0x80]) }
        for length in stride(from: 0, to: wrapped.count, by: 97) {
            expectStorageError(.corrupt, "truncated to \(length)") { try codec.unwrap(Array(wrapped[..<length])) }
        }
    }

    @Test("the block walk agrees with liblz4 on real blocks")
    func blockScanAgrees() throws {
        let codec = Codec(base: ProtobufRecordCodec(), threshold: 1)
        for size in [1, 5, 12, 13, 100, 65_535, 65_536, 300_000] {
            for data in [compressibleBytes(size), randomBytes(size), [UInt8](repeating: 0, count: size)] {
                let wrapped = codec.wrap(data)
                guard wrapped.first == 1 else { continue }
                #expect(try codec.unwrap(wrapped) == data, "\(size) bytes")
            }
        }
    }

    /// Entries of every size around the threshold, compressible or not, with and without data.
    static func mixedEntries(count: Int) -> [Entry] {
        (1...count).map { index in
            let size = [0, 1, 100, 4095, 4096, 4097, 20_000, 70_000][index % 8]
            let data: [UInt8]? = switch index % 5 {
            case 0: nil
            case 1, 2: compressibleBytes(size, seed: UInt64(index))
            default: randomBytes(size, seed: UInt64(index))
            }
            return Entry(term: 1 + UInt64(index / 40), index: UInt64(index), type: EntryType(rawValue: Int32(index % 3)), data: data)
        }
    }

    @Test("LZ4's fast paths write and read exactly what its plain paths do")
    func fastPathsMatchPlainPaths() throws {
        try withTemporaryDirectory("lz4-fast-path") { directory in
            let codec = Codec(base: ProtobufRecordCodec(), threshold: 4096)
            let entries = Self.mixedEntries(count: 200)
            let options = WALOptions(segmentSize: 256 * 1024)
            let fast = try WAL.create(at: directory.file("fast"), metadata: [9], codec: codec, options: options)
            let plain = try WAL.create(at: directory.file("plain"), metadata: [9], codec: PlainPathsCodec(base: codec), options: options)
            var start = 0
            var batch = 1
            while start < entries.count {
                let slice = Array(entries[start..<min(start + batch, entries.count)])
                let state = HardState(term: slice.last!.term, vote: 1, commit: UInt64(start))
                try fast.save(hardState: state, entries: slice)
                try plain.save(hardState: state, entries: slice)
                start += slice.count
                batch = batch % 17 + 1
            }
            try fast.close()
            try plain.close()

            let fastNames = try FileManager.default.contentsOfDirectory(atPath: directory.file("fast")).sorted()
            #expect(try fastNames == FileManager.default.contentsOfDirectory(atPath: directory.file("plain")).sorted())
            #expect(fastNames.filter { $0.hasSuffix(".wal") }.count > 2, "the entries should span several segments")
            for name in fastNames where name.hasSuffix(".wal") {
                #expect(try readBytes(directory.file("fast/" + name)) == readBytes(directory.file("plain/" + name)), "\(name) differs")
            }

            // Read with either codec: the same log. The log store reads earlier segments for
            // index and term only, where the fast path does not decompress.
            let read = try WAL.read(at: directory.file("fast"), from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
            let readPlain = try WAL.read(
                at: directory.file("fast"), from: .zero, codec: PlainPathsCodec(base: codec), replayOptions: WALReplayOptions(collectsRecords: true))
            #expect(read.error == nil)
            #expect(read.entries == entries)
            #expect(read.records == readPlain.records)
            let store = try WALLogStore(directory: directory.file("fast"), codec: codec)
            #expect(try store.entries(in: 1..<UInt64(entries.count + 1), maxBytes: .max) == entries)
            try store.close()
        }
    }

    @Test("through the protocol, LZ4's fast paths equal its plain paths, and over a base without them it has none")
    func protocolFastPaths() throws {
        let codec = Codec(base: ProtobufRecordCodec(), threshold: 100)
        let entries = Self.mixedEntries(count: 60)
        // Runs into a small buffer with a small budget, so calls stop for both reasons.
        var plainCRC: UInt32 = 77
        var plain: [UInt8] = []
        for entry in entries { RecordFraming.append(.entry(entry), encodedBy: codec, crc: &plainCRC, to: &plain) }
        var fastCRC: UInt32 = 77
        var fast: [UInt8] = []
        var next = 0
        var size = 8192
        while next < entries.count {
            var buffer = [UInt8](repeating: 0, count: size)
            let result = buffer.withUnsafeMutableBytes { raw in
                entries.withUnsafeBufferPointer { entries in
                    codec.frameEntries(UnsafeBufferPointer(rebasing: entries[next...]), into: raw, crc: &fastCRC, byteBudget: 4096)
                }
            }
            let written = try #require(result)
            if written.entryCount == 0 {
                try #require(written.neededCount > size)
                size = written.neededCount
                continue
            }
            fast += buffer[0..<written.byteCount]
            next += written.entryCount
            size = 8192
        }
        #expect(fast == plain)
        #expect(fastCRC == plainCRC)

        // Reading: whole entries unwrapped, or index and term only.
        for entry in entries {
            var record: [UInt8] = []
            codec.encode(.entry(entry), into: &record) { _ in 5 }
            let decoded = try codec.decode(record)
            let whole = try record.withUnsafeBytes { raw in try codec.decodeLogRecord(raw, entryData: .copy) }
            let position = try record.withUnsafeBytes { raw in try codec.decodeLogRecord(raw, entryData: .skip) }
            #expect(whole == DecodedLogRecord(body: .entry(entry), checksum: decoded.checksum, payload: decoded.payload))
            #expect(position == DecodedLogRecord(body: .entryIndexAndTerm(index: entry.index, term: entry.term), checksum: decoded.checksum, payload: decoded.payload))
        }

        // Over a base without a write fast path, LZ4 has none either, and the WAL still works.
        let overPlain = LZ4RecordCodec(base: NonStreamingCodec())
        var crc: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        let none = buffer.withUnsafeMutableBytes { raw in
            entries.withUnsafeBufferPointer { entries in
                overPlain.frameEntries(entries, into: raw, crc: &crc, byteBudget: 4096)
            }
        }
        #expect(none == nil)
        try withTemporaryDirectory("lz4-fast-path") { directory in
            let store = try WALLogStore(directory: directory.file("wal"), codec: overPlain)
            try store.save(hardState: HardState(term: entries.last!.term, vote: 1, commit: 1), entries: entries)
            try store.close()
            let reopened = try WALLogStore(directory: directory.file("wal"), codec: overPlain)
            #expect(try reopened.entries(in: 1..<UInt64(entries.count + 1), maxBytes: .max) == entries)
            try reopened.close()
        }
    }

    @Test("a WAL written with one codec is refused by the other, never misread")
    func walRefusesTheOtherCodec() throws {
        try withTemporaryDirectory("wal") { directory in
            let entries = (1...20).map { Entry(term: 1, index: UInt64($0), data: $0 % 2 == 0 ? compressibleBytes(20_000, seed: UInt64($0)) : Array("small \($0)".utf8)) }
            let state = HardState(term: 1, vote: 1, commit: 20)

            let lz4Path = directory.file("lz4-wal")
            let lz4 = try WALLogStore(directory: lz4Path, codec: Codec(base: ProtobufRecordCodec()))
            try lz4.save(hardState: state, entries: entries)
            try lz4.close()

            let plainPath = directory.file("plain-wal")
            let plain = try WALLogStore(directory: plainPath, codec: ProtobufRecordCodec())
            try plain.save(hardState: state, entries: entries)
            try plain.close()

            expectStorageError(.codecMismatch, "LZ4 WAL, plain codec") { try WALLogStore(directory: lz4Path, codec: ProtobufRecordCodec()) }
            expectStorageError(.codecMismatch, "plain WAL, LZ4 codec") { try WALLogStore(directory: plainPath, codec: Codec(base: ProtobufRecordCodec())) }
            expectStorageError(.codecMismatch, "LZ4 WAL, LZ4 over another base") { try WALLogStore(directory: lz4Path, codec: LZ4RecordCodec(base: NonStreamingCodec())) }

            let reopened = try WALLogStore(directory: lz4Path, codec: Codec(base: ProtobufRecordCodec()))
            #expect(try reopened.entries(in: 1..<21, maxBytes: .max) == entries)
            #expect(try reopened.hardState() == state)
            try reopened.close()

            // The compressed WAL is smaller than etcd's.
            func size(_ path: String) throws -> Int {
                try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".wal") }.reduce(0) { total, name in
                    let bytes = try readBytes(path + "/" + name)
                    return total + (bytes.lastIndex { $0 != 0 } ?? 0)
                }
            }
            #expect(try size(lz4Path) < size(plainPath) * 3 / 4)
        }
    }
}
