import EtcdStorage
@testable import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// The whole load decompresses blocks straight into its result where it expects them (every
/// block before full); these frames break that expectation in every way the format allows, and
/// the loaded snapshot must still be exact.
@Suite("LZ4 whole load into place")
struct PlacedLoadTests {
    static let snapshot = Snapshot(
        data: compressibleBytes((9 << 20) + 12_345),
        metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 42, term: 3))

    static func content() -> [UInt8] {
        var bytes: [UInt8] = []
        ProtobufRecordCodec().encodeSnapshot(snapshot, into: &bytes)
        return bytes
    }

    /// Loads `frame` as the only snapshot file, whole and streamed.
    static func load(_ frame: [UInt8]) throws -> (whole: Snapshot?, streamed: [UInt8]) {
        try withTemporaryDirectory { directory in
            let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec())
            try writeBytes(frame, to: store.filePath(of: snapshot.metadata.marker))
            let whole = try store.loadNewest()
            var streamed: [UInt8] = []
            _ = try store.loadNewest(matching: nil) { (event) throws(StorageError) in
                if case .data(let bytes) = event { streamed.append(contentsOf: bytes) }
            }
            return (whole, streamed)
        }
    }

    @Test("blocks shorter than the header's maximum are moved into place")
    func shortBlocks() throws {
        // A writer told to expect no content cuts 64 KiB blocks under a 4 MiB maximum, so every
        // block after the first lands far from where the load placed it.
        let frame = try withTemporaryDirectory { directory in
            let path = directory.file("frame.lz4")
            let file = try PosixFileSystem().open(path, [.write, .create], permissions: 0o600)
            let writer = try LZ4FrameWriter(file: file, expectedContent: 0)
            try Self.content().withRawBytes { (raw) throws(StorageError) in try writer.write(raw, isData: false) }
            try writer.finish()
            try file.close()
            return try readBytes(path)
        }
        let loaded = try Self.load(frame)
        #expect(loaded.whole == Self.snapshot)
        #expect(loaded.streamed == Self.snapshot.data)
    }

    @Test("frames the lz4 tool writes load whole", .requires(Tools.lz4), arguments: [["-B4"], ["-B4", "-BD"], ["-B5", "-BX"], ["-B6", "--content-size"], ["-B7"], ["-B7", "-BD"]])
    func toolFrames(options: [String]) throws {
        let frame = try withTemporaryDirectory { directory in
            let plain = directory.file("plain.snap")
            try writeBytes(Self.content(), to: plain)
            let result = try run("lz4", ["-q", "-f"] + options + [plain, plain + ".lz4"])
            #expect(result.status == 0, "lz4 \(options) failed: \(result.error)")
            return try readBytes(plain + ".lz4")
        }
        let loaded = try Self.load(frame)
        #expect(loaded.whole == Self.snapshot, "written with lz4 \(options.joined(separator: " "))")
        #expect(loaded.streamed == Self.snapshot.data)
    }

    @Test("a damaged block in a placed load is an error, not a wrong snapshot")
    func damagedPlacedBlock() throws {
        var frame = try LZ4BadInputTests.fileBytes(Self.snapshot)
        // Somewhere in the third block (each compressed block is well over 100 KiB).
        frame[frame.count / 2] ^= 0x20
        let loaded = try Self.load(frame)
        #expect(loaded.whole == nil)
    }
}
