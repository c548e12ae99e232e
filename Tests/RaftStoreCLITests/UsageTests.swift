import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
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

    @Test(
        "garbage WAL directories: dump and verify exit 1 with one line; snapshots and repair exit 0 only for a torn tail or no records",
        arguments: 0..<12)
    func garbage(seed: Int) throws {
        let scratch = TemporaryDirectory("cli")
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
        // What the library makes of the same bytes. Random bytes and the enormous frame have
        // nothing intact after their first length word: a torn first record. A real segment
        // with a stretch overwritten is damaged, or torn when the stretch hit its last record's
        // length word. An empty file has no records, so not the snapshot record at (0, 0).
        let replay = try WAL<ProtobufRecordCodec>.read(at: wal, from: .zero, codec: ProtobufRecordCodec())
        let problem = try #require(replay.error, "seed \(seed): garbage read cleanly, \(replay.entries.count) entries")
        switch seed % 4 {
        case 0, 1: #expect(problem.code == .unexpectedEnd && problem.offset == 0, "seed \(seed): \(problem)")
        case 2: #expect(problem.code == .unexpectedEnd || problem.isDamage, "seed \(seed): \(problem)")
        default: #expect(problem.code == .snapshotNotFound, "seed \(seed): \(problem)")
        }
        // Reading commands report every problem. `snapshots` and `repair` accept what a
        // restart accepts, a torn tail (repair cuts it) or no records, and refuse damage.
        for command in [["wal", "dump"], ["wal", "dump", "--json"]] {
            expectFailure(try RaftStoreTool.run(command + [wal]), status: 1, mentioning: [problem.code.name])
        }
        expectFailure(try RaftStoreTool.run(["wal", "verify", wal]), status: 1)
        for command in [["wal", "snapshots"], ["wal", "repair"]] {
            let result = try RaftStoreTool.run(command + [wal])
            if problem.isDamage {
                expectFailure(result, status: 1)
            } else {
                #expect(result.status == 0, "seed \(seed), \(command): \(result)")
                #expect(result.stderr.isEmpty, "seed \(seed), \(command): \(result)")
            }
        }
        if !problem.isDamage {
            // The repair cut the torn record (at offset 0 for seeds 0 and 1) and kept a copy;
            // an empty file had nothing to cut.
            let expectedSize = problem.code == .unexpectedEnd ? Int(problem.offset ?? -1) : 0
            #expect(try Data(contentsOf: URL(fileURLWithPath: segment)).count == expectedSize, "seed \(seed): segment after repair")
            #expect(FileManager.default.fileExists(atPath: segment + ".broken") == (problem.code == .unexpectedEnd), "seed \(seed)")
        }
    }

    @Test("a directory with no WAL is something not found: exit 2")
    func emptyAndLocked() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let empty = scratch.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        expectFailure(try RaftStoreTool.run(["wal", "dump", empty]), status: 2, mentioning: ["no WAL in \(empty)", "no segment files"])
        expectFailure(try RaftStoreTool.run(["wal", "verify", empty]), status: 2, mentioning: ["no WAL in \(empty)"])
    }
}
