#if os(Linux)
import Foundation
import TestSupport
import Testing

/// The allocation bounds the documentation promises for hostile input, measured
/// (Docs/Reliability.md, "Allocation bounds"): `AllocationProbe`, built next to the tests, feeds
/// every decoder length fields that claim far more than the input holds (a WAL length word and
/// protobuf lengths of 2^40, `.snap` lengths of 2^40 and 64 MiB, LZ4 content sizes, block sizes
/// and announced data sizes; JSON arrays of the smallest elements; multi-group log records whose
/// counts claim all the body's bytes), at 64 B to 1 MiB, and
/// reports the largest single allocation each decoder made. Allocations are counted by
/// interposing `malloc` and friends in that executable only (`CMallocCounter`), or with the
/// sanitizer's malloc hook under `make sanitize`.
@Suite("Allocation bounds on hostile input")
struct AllocationBoundTests {
    static let executable = PackagePaths.builtExecutable("AllocationProbe")

    static let mebibyte = 1 << 20
    /// One 1 MiB read chunk (the WAL's `SegmentWindow`, `EtcdSnapshotStore`'s streamed loads)
    /// and room for the runtime's own small allocations.
    static let chunk = mebibyte + (64 << 10)

    /// The documented bound on the largest single allocation for `n` input bytes.
    static func bound(family: String, inputBytes n: Int) -> Int? {
        switch family {
        // WAL replay, the record codecs, etcd .snap loads: max(4 n, 1 MiB + 64 KiB).
        case "wal", "record", "snap": max(4 * n, chunk)
        // `raftstore wal import`: the parser's arrays hold 8 bytes per element of at least 2
        // input bytes, and double as they grow.
        case "json": max(8 * n, chunk)
        // .snap.lz4 loads: the reader's slots (four outputs of at most 4 MiB, four inputs no
        // larger than the file) or a whole load's result (16 n, `reservedExpansion`, and a block).
        case "lz4": 16 * n + 16 * mebibyte + (64 << 10)
        // The multi-group log's recovery (and `LogEngine.inspect`): a count is checked against
        // the bytes left before anything is reserved, so the most is what the smallest encoded
        // element becomes in memory: a base record's referred entry, one byte of length for 32
        // bytes of index (the record scanner's read-ahead never holds more than the file).
        case "engine": max(32 * n, chunk)
        default: nil
        }
    }

    struct Case {
        var name: String
        var family: String
        var inputBytes: Int
        var largest: Int
        var total: Int
        var error: String

        init(_ line: String) throws {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            name = try #require(object["name"] as? String)
            family = try #require(object["family"] as? String)
            inputBytes = try #require(object["input_bytes"] as? Int)
            largest = try #require(object["largest_allocation"] as? Int)
            total = try #require(object["total_allocated"] as? Int)
            error = try #require(object["error"] as? String)
        }
    }

    static func run() throws -> [Case] {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw ToolNotBuilt(description: "\(executable) is missing: build with `swift build --build-tests` (make test does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw ToolNotBuilt(description: "AllocationProbe failed: \(text)") }
        return try text.split(separator: "\n").map { try Case(String($0)) }
    }

    @Test("no decoder allocates more than its documented bound, whatever a length field claims")
    func hostileLengths() throws {
        let cases = try Self.run()
        #expect(Set(cases.map(\.family)) == ["wal", "record", "snap", "lz4", "json", "engine"])
        #expect(Set(cases.map(\.inputBytes)).count > 4 && cases.contains { $0.inputBytes >= Self.mebibyte }, "inputs from 64 B to 1 MiB")
        for test in cases {
            let what = "\(test.name) on \(test.inputBytes) bytes"
            let bound = try #require(Self.bound(family: test.family, inputBytes: test.inputBytes), "\(what): unknown family \(test.family)")
            #expect(test.largest <= bound, "\(what): a single allocation of \(test.largest) bytes, over the bound of \(bound)")
            #expect(test.error != "none", "\(what): the hostile input was accepted")
            #expect(test.largest > 0 && test.total >= test.largest, "\(what): nothing counted")
        }
        // The control: a whole LZ4 load reserves 16 times the file for the data a .snap inside
        // announces (the most `reservedExpansion` allows), so the probe must see at least that.
        let control = cases.filter { $0.name == "lz4-snap-data-16x-file-whole" }
        #expect(!control.isEmpty)
        for test in control {
            #expect(test.largest >= 16 * test.inputBytes, "the probe missed the whole load's reservation: \(test.largest) bytes on \(test.inputBytes)")
        }
    }
}
#endif
