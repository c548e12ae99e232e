import Foundation
import Testing

/// Exit codes and one-line errors for command lines that are wrong, and for inputs that are
/// not what they claim to be.
@Suite("usage and garbage")
struct UsageTests {
    static let usageErrors: [[String]] = [
        [],
        ["bogus"],
        ["wal"],
        ["wal", "dump"],
        ["wal", "dump", "/nonexistent/raftstore"],
        ["wal", "dump", "a", "b"],
        ["wal", "dump", ".", "--snap-index", "3"],
        ["wal", "dump", ".", "--snap-index", "x", "--snap-term", "1"],
        ["wal", "dump", ".", "--snap-index", "-1", "--snap-term", "1"],
        ["wal", "verify"],
        ["wal", "repair", "/nonexistent/raftstore"],
        ["wal", "snapshots", "/etc/hostname"],
        ["bench", "--entries", "0"],
        ["bench", "--batch", "-3"],
        ["bench", "--dir", "/nonexistent/raftstore"],
        ["bench", "--read-mode", "sideways"],
        ["bench", "--size", "999999999999"],
        ["bench", "--batch", "999999999999999"],
        ["bench", "--entries", "99999999999999999999999"],
        ["demo", "--entries", "0"],
        ["demo", "--entries", "99999999999"],
        ["demo", "--worker"],
        ["wal", "dump", "--frobnicate"],
    ]

    @Test("usage errors exit 2 with one line", arguments: usageErrors)
    func usageError(arguments: [String]) throws {
        let result = try RaftStoreTool.run(arguments)
        expectFailure(result, status: 2)
    }

    @Test("help exits 0 on standard output")
    func help() throws {
        for arguments in [["--help"], ["wal", "--help"], ["wal", "dump", "--help"], ["help", "bench"]] {
            let result = try RaftStoreTool.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result)")
            #expect(result.stdout.contains("USAGE"))
            #expect(result.stderr.isEmpty)
        }
    }

    @Test("garbage WAL directories give exit code 1 and one line, whatever the command", arguments: 0..<12)
    func garbage(seed: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var generator = SeededGenerator(seed: UInt64(seed) &* 7919 &+ 1)
        let wal = scratch.file("wal")
        try FileManager.default.createDirectory(atPath: wal, withIntermediateDirectories: true)
        let segment = wal + "/0000000000000000-0000000000000000.wal"
        var bytes: [UInt8]
        switch seed % 4 {
        case 0:
            bytes = (0..<Int.random(in: 1..<5000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        case 1:
            // A frame claiming an enormous record.
            bytes = [0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00] + (0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) }
        case 2:
            // A real segment with a random stretch overwritten.
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.goWAL("single-segment") + "/0000000000000000-0000000000000000.wal")))
            let start = Int.random(in: 0..<min(bytes.count, 600), using: &generator)
            for offset in start..<min(bytes.count, start + 16) { bytes[offset] = UInt8.random(in: 0...255, using: &generator) }
        default:
            bytes = []
        }
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        for command in [["wal", "dump"], ["wal", "dump", "--json"], ["wal", "verify"], ["wal", "snapshots"], ["wal", "repair"]] {
            let result = try RaftStoreTool.run(command + [wal])
            if result.status == 0 {
                // Damage that happens to keep the log readable (or an empty file: no records).
                #expect(result.stderr.isEmpty, "\(command): \(result)")
            } else {
                expectFailure(result, status: 1)
            }
        }
    }

    @Test("a directory with no WAL, and a WAL locked by a writer")
    func emptyAndLocked() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let empty = scratch.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        expectFailure(try RaftStoreTool.run(["wal", "dump", empty]), status: 1, mentioning: ["no segments"])
        expectFailure(try RaftStoreTool.run(["wal", "verify", empty]), status: 1)
    }
}
