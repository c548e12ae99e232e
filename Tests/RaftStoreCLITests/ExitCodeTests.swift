import Foundation
import TestSupport
import Testing

/// One exit-code table for every command: 0 success, 1 a problem found in the data, 2 a usage
/// error or something not found. `raftstore --help` and Docs/CLI.md print the same table, and
/// the commands keep to it.
@Suite("exit codes")
struct ExitCodeTests {
    /// The table `raftstore --help` prints: each code's meaning, its wrapped lines joined.
    static func helpTable() throws -> [Int: String] {
        let help = try RaftStoreTool.run(["--help"])
        #expect(help.status == 0, "\(help)")
        var table: [Int: String] = [:]
        var current: Int?
        var inTable = false
        for line in help.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Exit codes") {
                inTable = true
                continue
            }
            guard inTable else { continue }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { break }
            if let code = text.first?.wholeNumberValue, text.dropFirst().hasPrefix("  ") {
                current = code
                table[code] = String(text.dropFirst(3))
            } else if let code = current {
                table[code, default: ""] += " " + text
            }
        }
        return table
    }

    /// The table in Docs/CLI.md: the rows `| <code> | <meaning> |`.
    static func documentedTable() throws -> [Int: String] {
        let text = try String(contentsOfFile: PackagePaths.root + "/Docs/CLI.md", encoding: .utf8)
        var table: [Int: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, let code = Int(cells[0]) else { continue }
            table[code] = cells[1]
        }
        return table
    }

    @Test("raftstore --help and Docs/CLI.md print the same table of 0, 1 and 2")
    func documented() throws {
        let help = try Self.helpTable()
        #expect(help.keys.sorted() == [0, 1, 2], "\(help)")
        #expect(help[0]?.hasPrefix("success") == true, "\(help)")
        #expect(help[1]?.hasPrefix("a problem found in the data") == true, "\(help)")
        #expect(help[2]?.hasPrefix("usage error or something not found") == true, "\(help)")
        #expect(try Self.documentedTable() == help)
    }

    @Test("0: done, no problem found")
    func success() throws {
        for arguments in [
            ["wal", "verify", Fixtures.goWAL("single-segment")],
            ["wal", "dump", Fixtures.goWAL("multi-segment")],
            ["snap", "verify", SnapCommandsTests.etcdFixtures],
            ["inspect", Fixtures.goWritten + "/multi-segment"],
            ["--help"], ["help", "wal"], ["snap", "ls", "--help"],
        ] {
            let result = try RaftStoreTool.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result)")
        }
    }

    @Test("1: a problem found in the data")
    func dataProblems() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let cases: [([String], String)] = [
            (["wal", "verify", Fixtures.goWAL("crc-mismatch-last-segment")], "crcMismatch"),
            (["wal", "dump", Fixtures.goWAL("torn-tail")], "unexpectedEnd"),
            (["wal", "verify", Fixtures.goWAL("missing-segment")], "gap"),
            (["wal", "verify", Fixtures.goWAL("metadata-conflict")], "metadataConflict"),
            (["wal", "verify", Fixtures.goWAL("unknown-record-type")], "corrupt"),
            (["inspect", Fixtures.goWritten + "/torn-tail"], "torn tail"),
        ]
        for (arguments, fragment) in cases {
            expectFailure(try RaftStoreTool.run(arguments), status: 1, mentioning: [fragment])
        }
        // A damaged snapshot file.
        let snap = scratch.file("snap")
        try FileManager.default.createDirectory(atPath: snap, withIntermediateDirectories: true)
        var bytes = try readBytes(SnapCommandsTests.etcdFixtures + "/" + EtcdLayout.snapshotName)
        bytes[bytes.count / 2] ^= 0x40
        try writeBytes(bytes, to: snap + "/" + EtcdLayout.snapshotName)
        expectFailure(try RaftStoreTool.run(["snap", "verify", snap]), status: 1, mentioning: [EtcdLayout.snapshotName])
        expectFailure(try RaftStoreTool.run(["snap", "show", snap + "/" + EtcdLayout.snapshotName]), status: 1, mentioning: [EtcdLayout.snapshotName])
    }

    @Test("2: a usage error, or something not found")
    func usageAndNotFound() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let empty = scratch.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let nonEmpty = try scratch.copy(Fixtures.goWAL("single-segment"), as: "existing")
        let dump = try scratch.write(#"{"metadata": null, "hardState": {"term": 0, "vote": 0, "commit": 0}, "entries": []}"#, to: "dump.json")
        // A WAL directory as a running (or killed) etcd leaves it: with its spare segment.
        let withSpare = try scratch.copy(Fixtures.goWAL("single-segment"), as: "with-spare")
        #expect(FileManager.default.createFile(atPath: withSpare + "/0.tmp", contents: Data(count: 4096)))
        let cases: [([String], String)] = [
            ([], "missing subcommand"),
            (["bogus"], "bogus"),
            (["wal", "dump", empty, "--frobnicate"], "frobnicate"),
            (["wal", "dump", scratch.file("missing")], "no such WAL directory"),
            (["wal", "verify", dump], "not a directory"),
            (["wal", "dump", empty], "no WAL in"),
            (["wal", "verify", empty], "no WAL in"),
            (["snap", "ls", Fixtures.goWAL("single-segment")], "is a WAL directory"),
            (["snap", "ls", withSpare], "is a WAL directory"),
            (["snap", "verify", withSpare], "is a WAL directory"),
            (["snap", "verify", scratch.file("missing")], "no such snapshot directory"),
            (["snap", "show", dump], "not a snapshot file name"),
            (["snap", "show", scratch.file("missing.snap")], "no such file"),
            (["inspect", Fixtures.goWAL("single-segment")], "is a WAL directory"),
            (["inspect", empty], "no etcd member directory"),
            (["wal", "import", nonEmpty, dump], "not empty"),
            (["wal", "import", scratch.file("new"), scratch.file("missing.json")], "no such file"),
            (["bench", "--dir", scratch.file("missing")], "no such directory"),
        ]
        for (arguments, fragment) in cases {
            expectFailure(try RaftStoreTool.run(arguments), status: 2, mentioning: [fragment])
        }
    }
}
