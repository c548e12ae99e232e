import Foundation
@testable import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// The LZ4 frame layer against the reference: the `lz4` tool decompresses what the writer
/// writes, and the reader reads what the tool writes with every option this reader supports.
@Suite("LZ4 frames")
struct LZ4FrameTests {
    static let sizes = [0, 1, 15, 16, 100, 65_536, (4 << 20) - 1, 4 << 20, (4 << 20) + 1, (9 << 20) + 7]

    /// Writes `content` as one frame, in chunks of `chunk` bytes.
    static func writeFrame(_ content: [UInt8], to path: String, chunk: Int) throws {
        let file = try PosixFileSystem().open(path, [.write, .create, .truncate], permissions: 0o600)
        defer { try? file.close() }
        let writer = try LZ4FrameWriter(file: file, expectedContent: content.count, syncInterval: 1 << 20)
        var start = 0
        repeat {
            let end = min(content.count, start + chunk)
            try content[start..<end].withUnsafeBytes { try writer.write($0, isData: false) }
            start = end
        } while start < content.count
        try writer.finish()
    }

    /// Reads the frame in `path` whole.
    static func readFrame(_ path: String) throws -> [UInt8] {
        let file = try PosixFileSystem().open(path, .read, permissions: 0)
        defer { try? file.close() }
        var content: [UInt8] = []
        try LZ4FrameReader(file: file).read { content.append(contentsOf: $0) }
        return content
    }

    @Test("the lz4 tool decompresses what the writer writes", .requires(Tools.lz4), arguments: sizes)
    func toolReadsWriter(size: Int) throws {
        try withTemporaryDirectory { directory in
            for (name, content) in [("text", compressibleBytes(size)), ("random", randomBytes(size))] {
                for chunk in [1 << 20, 4 << 20, 5 << 20, 777] where chunk < 4096 ? size < 200_000 : true {
                    let framed = directory.file("\(name)-\(chunk).lz4")
                    try Self.writeFrame(content, to: framed, chunk: chunk)
                    let plain = directory.file("\(name)-\(chunk).out")
                    let result = try run("lz4", ["-d", "-q", "-f", framed, plain])
                    #expect(result.status == 0, "lz4 -d failed: \(result.error)")
                    #expect(try readBytes(plain) == content, "\(name), \(size) bytes in chunks of \(chunk)")
                    #expect(try Self.readFrame(framed) == content, "read back \(name), \(size) bytes")
                }
            }
        }
    }

    static let toolOptions: [[String]] = [
        [], ["-BD"], ["-BX"], ["--content-size"], ["--no-frame-crc"], ["-B4"], ["-B4", "-BD"], ["-B5", "-BD", "-BX"],
        ["-B6", "--content-size", "-BD"], ["-9"], ["-1", "-B7", "-BD"],
    ]

    @Test("the reader reads what the lz4 tool writes", .requires(Tools.lz4), arguments: toolOptions)
    func readerReadsTool(options: [String]) throws {
        try withTemporaryDirectory { directory in
            // Text with random stretches, longer than a 4 MiB block, so linked blocks refer back.
            let content = compressibleBytes(6 << 20) + randomBytes(300_000) + compressibleBytes(3 << 20, seed: 7)
            for (name, bytes) in [("mixed", content), ("small", Array(content.prefix(1000))), ("empty", [])] {
                let plain = directory.file("\(name).bin")
                try writeBytes(bytes, to: plain)
                let framed = plain + ".lz4"
                let result = try run("lz4", ["-q", "-f"] + options + [plain, framed])
                #expect(result.status == 0, "lz4 \(options) failed: \(result.error)")
                #expect(try Self.readFrame(framed) == bytes, "\(name) written with lz4 \(options.joined(separator: " "))")
            }
        }
    }

    @Test func headerChecksumAndFlags() throws {
        let header = try LZ4FrameHeader.written.withUnsafeBytes { try LZ4FrameHeader.parse($0) }
        #expect(header.independentBlocks)
        #expect(header.contentChecksum)
        #expect(!header.blockChecksums)
        #expect(header.contentSize == nil)
        #expect(header.blockMaxSize == 1 << 20)
        #expect(header.size == 7)
    }

    @Test("XXH32 matches the reference values")
    func xxh32() {
        #expect(XXH32.hash(UnsafeRawBufferPointer(start: nil, count: 0)) == 0x02CC_5D05)
        #expect(Array("a".utf8).withUnsafeBytes { XXH32.hash($0) } == 0x550D_7456)
        // Streaming in odd pieces gives the one-shot value.
        let bytes = compressibleBytes(100_003)
        var streaming = XXH32()
        var start = 0
        for piece in [1, 3, 15, 16, 17, 1000, 65_536] {
            let end = min(bytes.count, start + piece)
            bytes[start..<end].withUnsafeBytes { streaming.update($0) }
            start = end
        }
        bytes[start...].withUnsafeBytes { streaming.update($0) }
        #expect(streaming.digest() == bytes.withUnsafeBytes { XXH32.hash($0) })
    }
}
