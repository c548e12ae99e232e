import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
@testable import LZ4Codec
import RaftFiles
import RaftStorageTesting
import Testing

@Suite("LZ4RecordCodec")
struct LZ4RecordCodecTests {
    typealias Codec = LZ4RecordCodec<ProtobufRecordCodec>

    @Test(arguments: RecordCodecConformance<Codec>.cases)
    func conformance(_ testCase: RecordCodecConformance<Codec>.Case) throws {
        // Snapshot markers go through the base unchanged, and etcd 3.4's records have no membership.
        try RecordCodecConformance(codec: Codec(base: ProtobufRecordCodec()), storesSnapshotMembership: false).run(testCase)
    }

    /// With a tiny threshold, so the suite's random entries really are compressed.
    @Test(arguments: RecordCodecConformance<Codec>.cases)
    func conformanceCompressingEverything(_ testCase: RecordCodecConformance<Codec>.Case) throws {
        try RecordCodecConformance(codec: Codec(base: ProtobufRecordCodec(), threshold: 1), storesSnapshotMembership: false).run(testCase)
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
