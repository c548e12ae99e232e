import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// etcd's `.snap` format: the golden file from etcd 3.4.23, the streaming encoder's field order,
/// and the streaming decoder against the whole-content decoder on good and damaged input.
@Suite("etcd .snap format")
struct EtcdSnapshotFormatTests {
    /// Docs/OnDiskFormat.md, `.snap`: Snapshot{Data "xy", Metadata{ConfState{Voters[1]}, Index 10, Term 2}}.
    static let golden = Snapshot(data: Array("xy".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 10, term: 2))
    static let goldenFile: [UInt8] = [
        0x08, 0xce, 0xff, 0xda, 0xd5, 0x0a, 0x12, 0x10, 0x0a, 0x02, 0x78, 0x79,
        0x12, 0x0a, 0x0a, 0x04, 0x08, 0x01, 0x28, 0x00, 0x10, 0x0a, 0x18, 0x02,
    ]

    @Test func goldenFileWrittenAndRead() throws {
        try withTemporaryDirectory { directory in
            let store = try EtcdSnapshotStore(directory: directory.path)
            try store.save(Self.golden)
            #expect(directory.names() == ["0000000000000002-000000000000000a.snap"])
            #expect(try readBytes(directory.file("0000000000000002-000000000000000a.snap")) == Self.goldenFile)
            #expect(try store.loadNewest() == Self.golden)
        }
    }

    /// The issue's recommended content: `lz4 -d` of a `.snap.lz4` is the `.snap` etcd writes.
    @Test(.requires(Tools.lz4)) func lz4DecompressesToTheEtcdFile() throws {
        try withTemporaryDirectory { directory in
            let etcd = try EtcdSnapshotStore(directory: directory.file("etcd"))
            let lz4 = try LZ4SnapshotStore(directory: directory.file("lz4"), codec: ProtobufRecordCodec())
            for snapshot in [Self.golden, Snapshot(data: compressibleBytes(9 << 20), metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 77_777, term: 9))] {
                try etcd.save(snapshot)
                try lz4.save(snapshot)
                let marker = snapshot.metadata.marker
                let plain = directory.file("plain.snap")
                let result = try run("lz4", ["-d", "-q", "-f", lz4.filePath(of: marker), plain])
                #expect(result.status == 0, "lz4 -d: \(result.error)")
                #expect(try readBytes(plain) == readBytes(etcd.filePath(of: marker)), "snapshot at \(marker)")
            }
        }
    }

    /// Streamed content puts the CRC last; the whole-content decoder (etcd's field-by-field
    /// parse) reads it as the same snapshot.
    @Test func streamedContentPutsTheCRCLast() throws {
        let codec = ProtobufRecordCodec()
        var encoder = try #require(codec.makeSnapshotEncoder(metadata: Self.golden.metadata, dataCount: 2))
        var content = encoder.prefix()
        Self.golden.data!.withUnsafeBytes { encoder.update($0) }
        content += Self.golden.data! + encoder.suffix()
        // The same fields as the golden file, with `08 <crc>` moved from the front to the end.
        let crcField = Array(Self.goldenFile[0..<6])
        let rest = Array(Self.goldenFile[6...])
        let expected = rest + crcField
        #expect(content == expected)
        #expect(try codec.decodeSnapshot(content) == Self.golden)
    }

    /// Decodes `content` with the streaming decoder, fed in pieces cut at `cuts`.
    static func streamDecode(_ content: [UInt8], cuts: [Int]) throws -> Snapshot {
        var decoder = try #require(ProtobufRecordCodec().makeSnapshotDecoder())
        var data: [UInt8] = []
        var start = 0
        for cut in cuts.sorted() + [content.count] where cut >= start {
            // (ArraySlice.withUnsafeBytes with a typed-throws closure crashes the 6.3.1 compiler.)
            try Array(content[start..<cut]).withRawBytes { (raw) throws(StorageError) in
                try decoder.decode(raw) { (bytes) throws(StorageError) in data.append(contentsOf: bytes) }
            }
            start = cut
        }
        let result = try decoder.finish()
        return Snapshot(data: result.dataCount == nil ? nil : data, metadata: result.metadata)
    }

    static func encodings(of snapshot: Snapshot) -> [(String, [UInt8])] {
        let codec = ProtobufRecordCodec()
        var whole: [UInt8] = []
        codec.encodeSnapshot(snapshot, into: &whole)
        guard let data = snapshot.data, var encoder = codec.makeSnapshotEncoder(metadata: snapshot.metadata, dataCount: data.count) else {
            return [("whole", whole)]
        }
        var streamed = encoder.prefix()
        data.withUnsafeBytes { encoder.update($0) }
        streamed += data + encoder.suffix()
        return [("whole", whole), ("streamed", streamed)]
    }

    static let samples: [Snapshot] = [
        golden,
        Snapshot(data: nil, metadata: SnapshotMetadata(index: 1, term: 1)),
        Snapshot(data: [], metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2], learners: [3], autoLeave: true), index: 5, term: 3)),
        Snapshot(data: randomBytes(300), metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: .max, term: .max)),
    ]

    @Test("the streaming decoder reads whole and streamed content cut anywhere")
    func streamingDecoderCutAnywhere() throws {
        var random = Xorshift(seed: 99)
        for snapshot in Self.samples + [Snapshot(data: randomBytes(70_000), metadata: SnapshotMetadata(index: 9, term: 9))] {
            for (name, content) in Self.encodings(of: snapshot) {
                if content.count < 400 {
                    for cut in 0...content.count {
                        #expect(try Self.streamDecode(content, cuts: [cut]) == snapshot, "\(name), cut at \(cut)")
                    }
                    #expect(try Self.streamDecode(content, cuts: Array(0...content.count)) == snapshot, "\(name), byte by byte")
                }
                for _ in 0..<50 {
                    let cuts = (0..<Int.random(in: 1...20, using: &random)).map { _ in Int.random(in: 0...content.count, using: &random) }
                    #expect(try Self.streamDecode(content, cuts: cuts) == snapshot, "\(name), cuts \(cuts)")
                }
            }
        }
    }

    @Test("damaged content fails cleanly in the streaming decoder, never decoding wrongly")
    func streamingDecoderDamage() throws {
        for snapshot in Self.samples {
            for (name, content) in Self.encodings(of: snapshot) {
                for bit in 0..<(content.count * 8) {
                    var damaged = content
                    damaged[bit / 8] ^= 1 << (bit % 8)
                    Self.expectCleanOutcome(damaged, original: snapshot, "\(name) bit \(bit)")
                }
                for length in 0..<content.count {
                    let truncated = Array(content[..<length])
                    do {
                        _ = try Self.streamDecode(truncated, cuts: [length / 2])
                        Issue.record("\(name) truncated to \(length) bytes decoded")
                    } catch let error as StorageError {
                        #expect([.corrupt, .unexpectedEnd, .crcMismatch].contains(error.code), "\(error)")
                    }
                }
            }
        }
    }

    /// A damaged encoding either fails with a StorageError or, when the damage hit bytes the CRC
    /// does not cover in a way that changes nothing, decodes to the original.
    static func expectCleanOutcome(_ damaged: [UInt8], original: Snapshot, _ what: String) {
        do {
            let decoded = try streamDecode(damaged, cuts: [damaged.count / 3])
            // A flip in the CRC field's varint continuation or an unknown-field tag can leave a
            // valid file only if the snapshot is unchanged; never a different snapshot.
            #expect(decoded == original, "\(what) decoded to a different snapshot")
        } catch let error as StorageError {
            #expect([.corrupt, .unexpectedEnd, .crcMismatch].contains(error.code), "\(what): \(error)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test("unknown fields are skipped at both levels, and lengths are never trusted")
    func unknownFieldsAndHostileLengths() throws {
        // snappb with an unknown fixed32 and length-delimited field around the golden fields.
        let unknown: [UInt8] = [0x1d, 1, 2, 3, 4, 0x22, 0x03, 9, 9, 9]
        let withUnknown = unknown + Self.goldenFile
        #expect(try Self.streamDecode(withUnknown, cuts: [3, 7]) == Self.golden)
        #expect(try ProtobufRecordCodec().decodeSnapshot(withUnknown) == Self.golden)

        // A data field claiming 2^60 bytes: the decoder waits for them, allocating nothing.
        let huge: [UInt8] = [0x08, 0x01, 0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0a, 0x02, 0x78]
        let error = expectStorageError(.unexpectedEnd) { try Self.streamDecode(huge, cuts: []) }
        #expect(error?.offset == Int64(huge.count))
        // Metadata claiming more than the cap is refused before anything is gathered.
        let bigMetadata: [UInt8] = [0x12, 0x87, 0x80, 0x80, 0x40, 0x12, 0x80, 0x80, 0x80, 0x40]
        expectStorageError(.corrupt) { try Self.streamDecode(bigMetadata, cuts: []) }
        // A second data field is refused: the first one has been handed out.
        let twice = Self.goldenFile + [0x12, 0x02, 0x0a, 0x00]
        expectStorageError(.corrupt) { try Self.streamDecode(twice, cuts: []) }
    }
}
