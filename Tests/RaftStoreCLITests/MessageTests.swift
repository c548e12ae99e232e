import EtcdStorage
import Foundation
import LZ4Codec
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// How messages read: an error code appears once, counts agree with their nouns, and a file the
/// WAL passes over is mentioned once per command.
@Suite("messages")
struct MessageTests {
    /// The error codes a message can start with (``RaftStorage/StorageError/Code``).
    static let codes: Set<String> = [
        "compacted", "unavailable", "snapshotOutOfDate", "corrupt", "crcMismatch", "unexpectedEnd", "snapshotMismatch",
        "snapshotNotFound", "metadataConflict", "codecMismatch", "notFound", "alreadyExists", "locked", "io", "closed",
        "invalidArgument", "invariantViolation", "unsupported",
    ]

    /// How many error codes `line` holds, as `<code>:` words.
    static func codeCount(_ line: some StringProtocol) -> Int {
        line.split(separator: " ").filter { $0.hasSuffix(":") && codes.contains(String($0.dropLast())) }.count
    }

    /// Counts of one written with a plural noun, e.g. `1 snapshots`.
    static func wrongSingulars(_ text: String) -> [String] {
        let pattern = #"(?<![0-9.,])1 (entries|segments|snapshots|keys|writes|bytes|data bytes|files|segment files|snapshot files|\.snap\.lz4 files|more problems|acknowledged writes)\b"#
        let regex = try! NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    }

    @Test("a damaged snapshot file's error names its code once", arguments: [".snap", ".snap.lz4"])
    func codeOnce(suffix: String) throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let directory = scratch.file("snap")
        let path = try Fixtures.savedSnapshotFile(suffix: suffix, in: directory)
        var bytes = try readBytes(path)
        bytes[bytes.count / 2] ^= 0x40
        try writeBytes(bytes, to: path)

        let verify = try RaftStoreTool.run(["snap", "verify", directory])
        expectFailure(verify, status: 1, mentioning: ["1 of 1 snapshot file failed", "a load would set it aside: "])
        #expect(Self.codeCount(verify.stderr) == 1, "\(verify)")
        let failed = try #require(verify.stdout.split(separator: "\n").first { $0.hasPrefix("FAIL") })
        #expect(Self.codeCount(failed) == 1, "\(failed)")
        // The code leads: `<code>: a load would set it aside: <what the store found>`.
        let words = failed.split(separator: " ")
        let code = try #require(words.firstIndex { $0.hasSuffix(":") })
        #expect(words[code...].starts(with: [words[code], "a", "load", "would", "set", "it", "aside:"]), "\(failed)")

        let show = try RaftStoreTool.run(["snap", "show", path])
        expectFailure(show, status: 1, mentioning: ["a load would set it aside: "])
        #expect(Self.codeCount(show.stderr) == 1, "\(show)")
    }

    @Test("counts of one take the singular: segment, entry, snapshot file")
    func singulars() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        var outputs: [String] = []
        let dump = try RaftStoreTool.run(["wal", "dump", Fixtures.goWAL("single-segment")])
        #expect(dump.status == 0, "\(dump)")
        #expect(dump.stdout.contains(": 1 segment, etcd codec"), "\(dump)")
        let verify = try RaftStoreTool.run(["wal", "verify", Fixtures.goWAL("single-segment")])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout.contains(": 1 segment, etcd codec"), "\(verify)")
        outputs += [dump.stdout, verify.stdout]

        // A WAL of one entry.
        let file = try scratch.write(
            #"{"metadata": null, "hardState": {"term": 1, "vote": 1, "commit": 1}, "entries": [{"index": 1, "term": 1, "type": "normal", "data": "eA=="}]}"#,
            to: "one.json")
        let imported = try RaftStoreTool.run(["wal", "import", scratch.file("one"), file])
        #expect(imported.status == 0, "\(imported)")
        #expect(imported.stdout.hasPrefix("imported 1 entry (1 to 1) into"), "\(imported)")
        let one = try RaftStoreTool.run(["wal", "dump", scratch.file("one")])
        #expect(one.status == 0, "\(one)")
        #expect(one.stdout.contains("\n1 entry, 1 to 1\n"), "\(one)")
        #expect(one.stdout.contains("1 segment"), "\(one)")
        outputs += [imported.stdout, one.stdout]

        // One snapshot file.
        let snap = scratch.file("snap")
        try FileManager.default.createDirectory(atPath: snap, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: SnapCommandsTests.etcdFixtures + "/" + EtcdLayout.snapshotName, toPath: snap + "/" + EtcdLayout.snapshotName)
        let show = try RaftStoreTool.run(["snap", "show", snap + "/" + EtcdLayout.snapshotName])
        #expect(show.status == 0, "\(show)")
        outputs += [show.stdout, try RaftStoreTool.run(["snap", "verify", snap]).stdout, try RaftStoreTool.run(["snap", "ls", snap]).stdout]

        for output in outputs {
            #expect(Self.wrongSingulars(output).isEmpty, "\(Self.wrongSingulars(output)) in \(output)")
            #expect(!output.contains("(s)"), "\(output)")
        }
    }

    @Test("the demo with one snapshot says 1 snapshot and 1 .snap.lz4 file")
    func demoSingulars() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        // A snapshot every 3,000 entries: killed after 3,500 acknowledged writes, one was taken.
        let result = try RaftStoreTool.run(["demo", "--dir", scratch.file("demo"), "--entries", "3500"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains(", 1 snapshot\n"), "\(result.stdout)")
        #expect(result.stdout.contains("snap/: 1 .snap.lz4 file, "), "\(result.stdout)")
        #expect(Self.wrongSingulars(result.stdout).isEmpty, "\(Self.wrongSingulars(result.stdout)) in \(result.stdout)")
    }

    @Test("after a repair, the kept copy and a stray file are each mentioned once, the copy saying what it is", arguments: ["etcd", "lz4"])
    func passedOverFilesOnce(codec: String) throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        // A torn tail in the chosen codec (the lz4 one makes the tool list the WAL once per codec tried).
        let wal: String
        if codec == "etcd" {
            wal = try scratch.copy(Fixtures.goWAL("torn-tail"), as: "wal")
        } else {
            let dump = try RaftStoreTool.run(["wal", "dump", "--json", Fixtures.goWAL("large-entries")])
            let dumpFile = try scratch.write(dump.stdout, to: "dump.json")
            wal = scratch.file("wal")
            #expect(try RaftStoreTool.run(["wal", "import", "--codec", "lz4", wal, dumpFile]).status == 0)
            let replay = try WAL.read(
                at: wal, from: .zero, codec: LZ4RecordCodec(base: ProtobufRecordCodec()),
                replayOptions: WALReplayOptions(collectsRecords: true))
            // Cut the last entry record in half: a torn tail.
            let lastEntry = try #require(replay.records.last { if case .entry = $0.record { true } else { false } })
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: lastEntry.path))
            try handle.truncate(atOffset: UInt64(lastEntry.offset) + UInt64(lastEntry.frameSize / 2))
            try handle.close()
        }
        _ = try scratch.write("operator notes", to: "wal/notes.txt")
        let repaired = try RaftStoreTool.run(["wal", "repair", wal])
        #expect(repaired.status == 0, "\(repaired)")
        #expect(repaired.stdout.contains("repaired a torn tail"), "\(repaired)")
        let copies = try FileManager.default.contentsOfDirectory(atPath: wal).filter { $0.hasSuffix(".wal.broken") }
        #expect(copies.count == 1, "\(copies)")
        let copy = try #require(copies.first)

        let verify = try RaftStoreTool.run(["wal", "verify", wal])
        #expect(verify.status == 0, "\(verify)")
        let lines = verify.stdout.split(separator: "\n")
        let strays = lines.filter { $0.contains("ignored file in WAL directory") }
        #expect(strays.count == 1 && strays.first?.contains("notes.txt") == true, "\(verify.stdout)")
        let kept = lines.filter { $0.contains(copy) }
        #expect(kept.count == 1, "\(verify.stdout)")
        #expect(kept.first?.contains("copy of a WAL segment kept by a repair") == true, "\(verify.stdout)")
        #expect(lines.filter { $0.hasPrefix("note: ") }.count == 2, "\(verify.stdout)")

        // inspect names the copy once, in its own words (scratch is the member directory: it holds wal/).
        let inspect = try RaftStoreTool.run(["inspect", scratch.path])
        #expect(inspect.stdout.contains("WAL \(wal)"), "\(inspect)")
        let inspectLines = inspect.stdout.split(separator: "\n")
        #expect(inspectLines.filter { $0.contains(copy) }.count == 1, "\(inspect.stdout)")
        #expect(inspectLines.filter { $0.contains("notes.txt") }.count == 1, "\(inspect.stdout)")
    }
}
