import EtcdStorage
import Foundation
import InMemoryLogging
import Logging
@testable import LZ4Snapshots
import RaftStorage
import RaftFiles
import RaftStorageTesting
import TestSupport
import Testing

/// Hostile and damaged `.snap.lz4` files: each gives a clear ``StorageError`` and is set aside
/// as `.broken` (the older snapshot loading instead), or is skipped; nothing traps and nothing
/// allocates what a length field claims.
@Suite("LZ4 snapshot bad input")
struct LZ4BadInputTests {
    static let good = Snapshot(data: Array("the older, good snapshot".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 1, term: 1))
    static let victim = Snapshot(data: compressibleBytes(3000), metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 7, term: 2))

    /// The bytes the store writes for `snapshot`.
    static func fileBytes(_ snapshot: Snapshot) throws -> [UInt8] {
        try withTemporaryDirectory { directory in
            let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec())
            try store.save(snapshot)
            return try readBytes(store.filePath(of: snapshot.metadata.marker))
        }
    }

    /// What loading gives when the newest file (named for `victim`) holds `bytes` and an older
    /// good snapshot sits beside it: the snapshot loaded, the file names after, what was logged.
    static func load(newest bytes: [UInt8]) throws -> (loaded: Snapshot?, names: [String], log: [String]) {
        try withTemporaryDirectory { directory in
            let handler = InMemoryLogHandler()
            let logger = Logger(label: "test", factory: { _ in handler })
            let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec(), fileSystem: SyncHookFileSystem.withoutSyncs(), logger: logger)
            try store.save(good)
            try writeBytes(bytes, to: directory.file(FileStoreKind.lz4.fileName(victim.metadata.marker)))
            let loaded = try store.loadNewest()
            return (loaded, directory.names(), handler.entries.map { "\($0.message)" })
        }
    }

    /// Expects the damaged newest file to be set aside with an error of one of `codes`, or (for
    /// damage that changes nothing) to load unchanged.
    static func expectSetAside(
        _ bytes: [UInt8], _ what: String, codes: Set<String> = ["corrupt", "crcMismatch", "unexpectedEnd"],
        allowUnchanged: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let outcome = try load(newest: bytes)
        if allowUnchanged && outcome.loaded == victim { return }
        #expect(outcome.loaded == good, "\(what): the older snapshot loads", sourceLocation: sourceLocation)
        let victimName = FileStoreKind.lz4.fileName(victim.metadata.marker)
        #expect(outcome.names.contains(victimName + ".broken"), "\(what): set aside, got \(outcome.names)", sourceLocation: sourceLocation)
        let reason = outcome.log.first { $0.contains("set aside") } ?? ""
        #expect(codes.contains { reason.contains("\(victimName) as") && reason.contains(": \($0):") }, "\(what): logged \(outcome.log)", sourceLocation: sourceLocation)
    }

    @Test("a file truncated at any offset is set aside")
    func truncatedAnywhere() throws {
        let bytes = try Self.fileBytes(Self.victim)
        for length in 0..<bytes.count {
            try Self.expectSetAside(Array(bytes[..<length]), "truncated to \(length) of \(bytes.count) bytes")
        }
    }

    @Test("a multi-block file truncated around its block boundaries fails cleanly")
    func truncatedMultiBlock() throws {
        try withTemporaryDirectory { directory in
            let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec())
            let snapshot = Snapshot(data: compressibleBytes(5 << 20) + randomBytes(4 << 20), metadata: SnapshotMetadata(index: 9, term: 9))
            try store.save(snapshot)
            let path = store.filePath(of: snapshot.metadata.marker)
            let bytes = try readBytes(path)
            // The block boundaries, from the size fields.
            var boundaries: [Int] = []
            var offset = 7
            while offset + 4 <= bytes.count {
                boundaries.append(offset)
                let size = bytes[offset..<(offset + 4)].withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) & 0x7FFF_FFFF) }
                if size == 0 { break }
                offset += 4 + size
            }
            #expect(boundaries.count == 11, "ten 1 MiB blocks (9 MiB of data and the framing) and the end mark")
            var random = Xorshift(seed: 5)
            let cuts = boundaries.flatMap { [$0 - 1, $0, $0 + 1, $0 + 3, $0 + 4, $0 + 5] } + (0..<12).map { _ in Int.random(in: 1..<bytes.count, using: &random) } + [bytes.count - 4, bytes.count - 1]
            for cut in cuts {
                let file = try PosixFileSystem().open(path, [.write, .truncate], permissions: 0)
                try Array(bytes[..<cut]).withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
                try file.close()
                let reader = try LZ4FrameReader(file: PosixFileSystem().open(path, .read, permissions: 0))
                let error = expectStorageError(.unexpectedEnd, "cut at \(cut) of \(bytes.count), boundaries \(boundaries)") { try reader.read { _ throws(StorageError) in } }
                #expect(error?.offset.map { $0 <= Int64(cut) } ?? false, "the offset points at the end: \(String(describing: error))")
            }
        }
    }

    @Test("a flipped bit in the frame header, size fields, end mark or checksum is set aside")
    func flippedBitInFrame() throws {
        let bytes = try Self.fileBytes(Self.victim)
        let frameBytes = Array(0..<11) + Array((bytes.count - 8)..<bytes.count)
        for index in frameBytes {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                try Self.expectSetAside(damaged, "bit \(bit) of byte \(index) flipped")
            }
        }
    }

    @Test("a flipped bit in the compressed payload is set aside or changes nothing")
    func flippedBitInPayload() throws {
        let bytes = try Self.fileBytes(Self.victim)
        // Half the bits of each byte (alternating, so every bit position is covered), to keep
        // the run short.
        for index in 11..<(bytes.count - 8) {
            for bit in stride(from: index % 2, to: 8, by: 2) {
                var damaged = bytes
                damaged[index] ^= 1 << bit
                // A flip in a match offset that points at identical bytes decodes to the same
                // content, which both checksums then confirm: that is not damage.
                try Self.expectSetAside(damaged, "bit \(bit) of byte \(index) flipped", allowUnchanged: true)
            }
        }
    }

    @Test func zeroLengthFile() throws {
        try Self.expectSetAside([], "empty file", codes: ["corrupt"])
    }

    @Test("a valid frame around an empty or mislabelled snapshot is set aside")
    func validFrameEmptySnapshot() throws {
        // A frame with no content at all: etcd's "empty snapshot".
        try withTemporaryDirectory { directory in
            let path = directory.file("empty.lz4")
            let file = try PosixFileSystem().open(path, [.write, .create], permissions: 0o600)
            let writer = try LZ4FrameWriter(file: file, expectedContent: 0)
            try writer.finish()
            try file.close()
            try Self.expectSetAside(try readBytes(path), "frame with no content", codes: ["corrupt"])
        }
        // A frame holding a well-formed snapshot at index 0, under the name of index 0.
        var content: [UInt8] = []
        ProtobufRecordCodec().encodeSnapshot(Snapshot(data: [1], metadata: SnapshotMetadata()), into: &content)
        let zero = try Self.frame(content)
        try withTemporaryDirectory { directory in
            let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec())
            try writeBytes(zero, to: directory.file(FileStoreKind.lz4.fileName(.zero)))
            #expect(try store.loadNewest(matching: [.zero]) == nil)
            #expect(directory.names() == [FileStoreKind.lz4.fileName(.zero) + ".broken"])
        }
        // A snapshot whose file name says another index.
        var other: [UInt8] = []
        ProtobufRecordCodec().encodeSnapshot(Snapshot(data: [1], metadata: SnapshotMetadata(index: 8, term: 2)), into: &other)
        try Self.expectSetAside(try Self.frame(other), "snapshot 8 in the file of 7", codes: ["corrupt"])
    }

    /// `content` in a frame, as the store writes it.
    static func frame(_ content: [UInt8]) throws -> [UInt8] {
        try withTemporaryDirectory { directory in
            let path = directory.file("frame.lz4")
            let file = try PosixFileSystem().open(path, [.write, .create], permissions: 0o600)
            let writer = try LZ4FrameWriter(file: file, expectedContent: content.count)
            try content.withRawBytes { (raw) throws(StorageError) in try writer.write(raw, isData: false) }
            try writer.finish()
            try file.close()
            return try readBytes(path)
        }
    }

    @Test("names that do not parse are skipped, logged and left alone")
    func namesThatDoNotParse() throws {
        try withTemporaryDirectory { directory in
            let handler = InMemoryLogHandler()
            let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec(), logger: Logger(label: "test", factory: { _ in handler }))
            let bytes = try Self.fileBytes(Self.victim)
            let strangers = [
                "7-2.snap.lz4", "0000000000000002-000000000000000A.snap.lz4", "0000000000000002-0000000000000007.snap",
                "0000000000000002-00000000000000007.snap.lz4", "0000000000000002_0000000000000007.snap.lz4", "notes.txt",
                "0000000000000002-0000000000000007.snap.lz4.bak",
                // The largest index: no log entry could follow it.
                "0000000000000002-ffffffffffffffff.snap.lz4",
            ]
            for name in strangers { try writeBytes(bytes, to: directory.file(name)) }
            #expect(try store.list().isEmpty)
            #expect(try store.loadNewest() == nil)
            #expect(try store.retainNewest(0).isEmpty)
            #expect(directory.names() == strangers.sorted(), "nothing renamed or deleted")
            let logged = handler.entries.filter { $0.level == .warning }.map { "\($0.message)" }
            for name in strangers {
                #expect(logged.contains { $0.contains("'\(name)'") }, "\(name) is logged")
            }
        }
    }

    @Test("a temporary file left by a crashed save is removed on open, and never loads")
    func temporaryFileLeftByCrash() throws {
        try withTemporaryDirectory { directory in
            let store = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec())
            try store.save(Self.good)
            // A save that dies after writing its temporary file: the rename and the clean-up fail.
            let crashing = CrashingFileSystem()
            let doomed = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec(), fileSystem: crashing)
            expectStorageError(.io, "the crash") { try doomed.save(Self.victim) }
            let temporaries = directory.names().filter { $0.hasSuffix(".tmp") }
            #expect(temporaries.count == 1, "\(directory.names())")
            #expect(try store.list() == [Self.good.metadata.marker], "the temporary file is not a snapshot")
            #expect(try store.loadNewest() == Self.good)

            let handler = InMemoryLogHandler()
            let reopened = try LZ4SnapshotStore(directory: directory.path, codec: ProtobufRecordCodec(), logger: Logger(label: "test", factory: { _ in handler }))
            #expect(directory.names() == [FileStoreKind.lz4.fileName(Self.good.metadata.marker)])
            #expect(handler.entries.contains { "\($0.message)".contains("removed") && "\($0.message)".contains(temporaries[0]) })
            #expect(try reopened.loadNewest() == Self.good)
        }
    }

    @Test("a header claiming a huge content size or block is refused without allocating it")
    func hugeClaims() throws {
        let bytes = try Self.fileBytes(Self.victim)
        // Content size 2^62 in the header (flag and field added, header checksum fixed).
        var header: [UInt8] = [0x04, 0x22, 0x4D, 0x18, 0b0110_1100, 0x70]
        withUnsafeBytes(of: (UInt64(1) << 62).littleEndian) { header += $0 }
        header.append(UInt8(truncatingIfNeeded: header[4...].withUnsafeBytes { XXH32.hash($0) } >> 8))
        try Self.expectSetAside(header + bytes[7...], "content size 2^62", codes: ["corrupt"])
        // A block size field of 2 GiB.
        var bigBlock = bytes
        bigBlock.replaceSubrange(7..<11, with: [0xFF, 0xFF, 0xFF, 0x7F])
        try Self.expectSetAside(bigBlock, "a 2 GiB block", codes: ["corrupt"])
        // A block of 4 MiB + 1, over any maximum a header can give.
        var overBlock = bytes
        overBlock.replaceSubrange(7..<11, with: [0x01, 0x00, 0x40, 0x00])
        try Self.expectSetAside(overBlock, "a block over the maximum", codes: ["corrupt"])
        // A valid frame whose etcd content claims 2^60 data bytes.
        let claim: [UInt8] = [0x08, 0x01, 0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0a, 0x02, 0x78]
        try Self.expectSetAside(try Self.frame(claim), "content claiming 2^60 bytes", codes: ["unexpectedEnd"])
    }
}

/// A file system whose renames and removals fail, the way a process dying between writing a
/// temporary file and renaming it leaves the directory.
struct CrashingFileSystem: ForwardingFileSystem {
    let base: any FileSystem = PosixFileSystem()
    func rename(_ source: String, to destination: String) throws(StorageError) {
        throw StorageError(.io, "simulated crash before rename", path: source)
    }
    func removeFile(_ path: String) throws(StorageError) {
        throw StorageError(.io, "simulated crash", path: path)
    }
}
