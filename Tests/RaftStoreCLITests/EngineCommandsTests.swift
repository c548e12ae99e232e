import Foundation
import MultiRaftLog
import RaftStorage
import RaftStoreCLI
import TestSupport
import Testing

/// `raftstore inspect`, `engine dump` and `engine verify` on multi-group log directories
/// written by `LogEngine`: what they print, the exit codes, and that they never change a byte.
@Suite("engine inspect, dump, verify")
struct EngineCommandsTests {
    /// An engine directory the tests write: three groups, small files so there are several.
    struct EngineFixture {
        let scratch = TemporaryDirectory("cli-engine")
        var directory: String { scratch.file("engine") }
        static let groups: [UInt64] = [3, 7, 11]
        static let batches: UInt64 = 40

        /// The entries of `group` at `index`: text data, so previews are readable, and long
        /// enough that 40 batches fill several 8 KiB files.
        static func entry(_ group: UInt64, _ index: UInt64) -> Entry {
            Entry(term: 1 + index / 30, index: index, data: Array("group \(group) entry \(index) ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 120))
        }

        /// Writes every group in each batch, group 11 snapshots at 20 and compacts, then closes.
        init() throws {
            let engine = try LogEngine(directory: directory, options: .init(fileSize: 8 << 10))
            for index in 1...Self.batches {
                var batch = WriteBatch()
                for group in Self.groups {
                    batch.save(hardState: HardState(term: 1 + index / 30, vote: group, commit: index), entries: [Self.entry(group, index)], for: group)
                }
                if index == 25 {
                    batch.recordSnapshot(SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 20, term: 1), for: 11)
                    batch.compact(11, through: 20)
                }
                try engine.write(batch, sync: false)
            }
            try engine.close()
        }

        func remove() { scratch.remove() }

        /// The log files, oldest first.
        var logFiles: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".rlog") }.sorted()
        }

        /// Every file of the directory, by name, with its bytes.
        func snapshot() throws -> [String: Data] {
            var files: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            }
            return files
        }

        func bytes(of name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))) }

        func write(_ bytes: [UInt8], to name: String) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
        }

        /// The offsets at which the records of a log file start (after the 40-byte header).
        static func recordOffsets(_ bytes: [UInt8]) -> [Int] {
            var offsets: [Int] = []
            var offset = 40
            while offset + 8 <= bytes.count {
                let length = (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
                guard length > 0 else { break }
                offsets.append(offset)
                offset = (offset + 8 + length + 7) / 8 * 8
            }
            return offsets
        }
    }

    @Test("inspect recognises an engine directory and summarises its files and groups")
    func inspectSummarises() throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        #expect(fixture.logFiles.count >= 3, "\(fixture.logFiles)")
        let result = try RaftStoreTool.run(["inspect", fixture.directory])
        #expect(result.status == 0, "\(result)")
        let out = result.stdout
        #expect(out.contains("multi-group log directory \(fixture.directory)"))
        #expect(out.contains("files       \(fixture.logFiles.count) log files"), "\(out)")
        for name in fixture.logFiles { #expect(out.contains(name), "\(name) missing: \(out)") }
        #expect(out.contains("groups      3 groups, 100 entries"), "\(out)")
        let rows = out.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        let row3 = try #require(rows.first { $0.first == "3" }, "\(out)")
        #expect(Array(row3.prefix(4)) == ["3", "1", "40", "40"], "\(row3)")
        #expect(row3.contains("2/3/40") && row3.last == "none", "\(row3)")
        let row11 = try #require(rows.first { $0.first == "11" }, "\(out)")
        #expect(Array(row11.prefix(4)) == ["11", "21", "40", "20"], "\(row11)")
        #expect(row11.contains("2/11/40"), "\(row11)")
        #expect(out.contains("index 20, term 1"), "\(out)")
        #expect(out.contains("opening     changes nothing"))
        #expect(out.contains("problems: none"))
        #expect(result.stderr.isEmpty)
    }

    @Test("dump --group prints the group's HardState and entries")
    func dumpTable() throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        let result = try RaftStoreTool.run(["engine", "dump", "--group", "11", fixture.directory])
        #expect(result.status == 0, "\(result)")
        let out = result.stdout
        #expect(out.contains("group 11 of \(fixture.directory): log after (index: 20, term: 1)"), "\(out)")
        #expect(out.contains("HardState: term 2, vote 11, commit 40"))
        #expect(out.contains("snapshot:  index 20, term 1"))
        #expect(out.contains("20 entries, 21 to 40"))
        let line = try #require(out.split(separator: "\n").first { $0.hasPrefix("        21 ") }, "\(out)")
        #expect(line.contains("normal") && line.contains("138") && line.contains("group 11 entry 21 xxx"), "\(line)")
        #expect(!out.contains("group 3 entry"))
    }

    @Test("dump --json is a wal dump that wal import turns into an etcd WAL")
    func dumpJSONImports() throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        let result = try RaftStoreTool.run(["engine", "dump", "--group", "11", "--json", fixture.directory])
        #expect(result.status == 0, "\(result)")
        let dump = try WALDump.parse(json: Array(result.stdout.utf8))
        #expect(dump.snapshot?.index == 20 && dump.snapshot?.term == 1)
        #expect(dump.hardState == HardState(term: 2, vote: 11, commit: 40))
        #expect(dump.entries == (21...40).map { EngineFixture.entry(11, $0) })
        #expect(dump.error == nil)

        let wal = fixture.scratch.file("wal")
        let imported = try RaftStoreTool.run(["wal", "import", wal, "-"], input: Data(result.stdout.utf8))
        #expect(imported.status == 0, "\(imported)")
        let replayed = try RaftStoreTool.run(["wal", "dump", "--json", "--snap-index", "20", "--snap-term", "1", wal])
        #expect(try WALDump.parse(json: Array(replayed.stdout.utf8)) == dump)
    }

    @Test("verify reads every record and entry of a sound directory and exits 0")
    func verifyClean() throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        let result = try RaftStoreTool.run(["engine", "verify", fixture.directory])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("\(fixture.logFiles.count) log files"))
        #expect(result.stdout.contains("3 groups"))
        #expect(result.stdout.contains("read back 100 entries"), "\(result.stdout)")
        #expect(result.stdout.hasSuffix("ok\n"))
        #expect(result.stderr.isEmpty)
    }

    @Test("a byte changed in the middle of a file is damage: verify names the file and the record's offset", arguments: [0, -1])
    func verifyDamage(filePosition: Int) throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        let files = fixture.logFiles
        // The first file (sealed) or the last one (where a bad record with intact ones after it
        // is damage, not a torn write).
        let name = files[filePosition < 0 ? files.count + filePosition : filePosition]
        var bytes = try fixture.bytes(of: name)
        let records = EngineFixture.recordOffsets(bytes)
        #expect(records.count >= 3, "\(name) holds \(records.count) records")
        let record = records[records.count / 2]
        bytes[record + 30] ^= 0x20
        try fixture.write(bytes, to: name)
        let before = try fixture.snapshot()
        for command in [["engine", "verify"], ["inspect"], ["engine", "dump", "--group", "3"]] {
            let result = try RaftStoreTool.run(command + [fixture.directory])
            expectFailure(result, status: 1, mentioning: ["crcMismatch", "\(fixture.directory)/\(name) at offset \(record)"])
        }
        #expect(try fixture.snapshot() == before, "a read-only command changed the directory")
    }

    @Test("a torn tail is reported as one, with the cut opening would make, and nothing is cut")
    func tornTail() throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        let last = try #require(fixture.logFiles.last)
        let bytes = try fixture.bytes(of: last)
        let first = try #require(EngineFixture.recordOffsets(bytes).first)
        // A copy of the file's first record, cut short: a write a crash interrupted.
        let torn = Array(bytes[first..<(first + 100)])
        try fixture.write(bytes + torn, to: last)
        let before = try fixture.snapshot()
        let location = "\(fixture.directory)/\(last) at offset \(bytes.count)"

        let verify = try RaftStoreTool.run(["engine", "verify", fixture.directory])
        expectFailure(verify, status: 1, mentioning: ["torn tail in \(location)", "opening the engine cuts it off (100 bytes)"])
        #expect(verify.stdout.contains("read back 100 entries"))
        let inspect = try RaftStoreTool.run(["inspect", fixture.directory])
        expectFailure(inspect, status: 1, mentioning: ["torn tail"])
        #expect(inspect.stdout.contains("cut a torn tail: \(fixture.directory)/\(last) from offset \(bytes.count) (100 bytes)"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("groups      3 groups"))
        let dump = try RaftStoreTool.run(["engine", "dump", "--group", "7", "--json", fixture.directory])
        expectFailure(dump, status: 1, mentioning: ["torn tail"])
        let dumped = try WALDump.parse(json: Array(dump.stdout.utf8))
        #expect(dumped.entries.count == 40)
        #expect(dumped.error?.contains("torn tail") == true)

        #expect(try fixture.snapshot() == before, "a read-only command changed the directory")
        // Opening makes exactly the cut reported.
        let engine = try LogEngine(directory: fixture.directory)
        defer { try? engine.close() }
        #expect(engine.recoveryActions.map(\.offset) == [Int64(bytes.count)])
        #expect(try fixture.bytes(of: last) == bytes)
    }

    @Test("reads a directory an open engine holds locked")
    func readsWhileLocked() throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        let engine = try LogEngine(directory: fixture.directory, options: .init(fileSize: 8 << 10))
        defer { try? engine.close() }
        let result = try RaftStoreTool.run(["engine", "verify", fixture.directory])
        #expect(result.status == 0, "\(result)")
        // And the engine still writes: the tool took no lock.
        var batch = WriteBatch()
        batch.append([EngineFixture.entry(3, 41)], to: 3)
        try engine.write(batch, sync: true)
        #expect(try engine.log(for: 3).lastIndex() == 41)
    }

    @Test("usage errors and directories of another kind exit 2")
    func usage() throws {
        let fixture = try EngineFixture()
        defer { fixture.remove() }
        expectFailure(try RaftStoreTool.run(["engine"]), status: 2, mentioning: ["missing subcommand"])
        expectFailure(try RaftStoreTool.run(["engine", "dump", fixture.directory]), status: 2, mentioning: ["--group"])
        expectFailure(try RaftStoreTool.run(["engine", "dump", "--group", "99", fixture.directory]), status: 2, mentioning: ["group 99 holds nothing", "groups: 3, 7, 11"])
        expectFailure(try RaftStoreTool.run(["engine", "verify", fixture.scratch.path]), status: 2, mentioning: ["no multi-group log in"])
        expectFailure(try RaftStoreTool.run(["engine", "verify", Fixtures.goWritten + "/multi-segment"]), status: 2, mentioning: ["etcd data or member directory"])
        expectFailure(try RaftStoreTool.run(["engine", "verify", "/nonexistent/raftstore"]), status: 2)
    }
}
