import Foundation
import TestSupport
import Testing

/// What the commands make of the directory they are given (Docs/CLI.md, Directories): a data
/// or member directory where a WAL or snapshot directory is expected is understood, with a
/// note; a directory of the other kind, or without a WAL, is named for what it is (exit 2).
@Suite("directories the commands understand")
struct DirectoryTests {
    @Test("wal commands given an etcd data directory or a member directory read the WAL inside it, with one note")
    func walInsideDataDirectory() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let layout = try EtcdLayout(in: scratch)
        let direct = try RaftStoreTool.run(["wal", "dump", "--json", layout.wal])
        #expect(direct.status == 0, "\(direct)")
        #expect(direct.stderr.isEmpty, "the WAL directory itself needs no note: \(direct)")
        for (given, role) in [(layout.data, "an etcd data directory"), (layout.member, "a member directory")] {
            let note = "raftstore: note: \(given) is \(role); read its WAL \(layout.wal)\n"
            let json = try RaftStoreTool.run(["wal", "dump", "--json", given])
            #expect(json.status == 0, "\(json)")
            #expect(json.stdout == direct.stdout, "the same dump as from \(layout.wal)")
            #expect(json.stderr == note, "\(json)")
            let table = try RaftStoreTool.run(["wal", "dump", given])
            #expect(table.status == 0, "\(table)")
            #expect(table.stdout.hasPrefix("WAL \(layout.wal): 1 segment, etcd codec"), "\(table)")
            for command in [["wal", "verify"], ["wal", "snapshots"], ["wal", "repair"]] {
                let result = try RaftStoreTool.run(command + [given])
                #expect(result.status == 0, "\(command): \(result)")
                #expect(result.stderr == note, "\(command): \(result)")
            }
        }
    }

    @Test("a failure reading the WAL inside a data directory is still one line, and names the WAL read")
    func failureCarriesTheNote() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let layout = try EtcdLayout(in: scratch, wal: "crc-mismatch-last-segment")
        for command in [["wal", "dump"], ["wal", "verify"]] {
            let result = try RaftStoreTool.run(command + [layout.data])
            expectFailure(result, status: 1, mentioning: [
                "crcMismatch", "(note: \(layout.data) is an etcd data directory; read its WAL \(layout.wal))",
            ])
        }
    }

    @Test("no WAL where one was expected: exit 2, saying what the directory is")
    func noWAL() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let layout = try EtcdLayout(in: scratch)
        let empty = scratch.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let file = try scratch.write("x", to: "file")
        let emptyData = scratch.file("empty-data")
        try FileManager.default.createDirectory(atPath: emptyData + "/member/wal", withIntermediateDirectories: true)
        for command in [["wal", "dump"], ["wal", "dump", "--json"], ["wal", "verify"], ["wal", "repair"], ["wal", "snapshots"]] {
            expectFailure(try RaftStoreTool.run(command + [empty]), status: 2, mentioning: ["no WAL in \(empty)", "no segment files"])
            expectFailure(try RaftStoreTool.run(command + [emptyData]), status: 2, mentioning: [
                "no WAL in \(emptyData)", "an etcd data directory", "\(emptyData)/member/wal holds no segment files",
            ])
            expectFailure(try RaftStoreTool.run(command + [layout.snap]), status: 2, mentioning: [
                "\(layout.snap) is a snapshot directory (1 snapshot file), not a WAL directory",
                "the WAL of this member is in \(layout.wal)",
            ])
            expectFailure(try RaftStoreTool.run(command + [file]), status: 2, mentioning: ["not a directory: \(file)"])
            expectFailure(try RaftStoreTool.run(command + [scratch.file("missing")]), status: 2, mentioning: ["no such WAL directory"])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty).isEmpty, "repair created nothing")
    }

    @Test("snap ls and verify given a WAL directory exit 2 naming it; given a data or member directory they read its snap directory")
    func snapshotDirectories() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let layout = try EtcdLayout(in: scratch)
        for command in [["snap", "ls"], ["snap", "verify"]] {
            let result = try RaftStoreTool.run(command + [layout.wal])
            expectFailure(result, status: 2, mentioning: [
                "\(layout.wal) is a WAL directory (1 segment file), not a snapshot directory",
                "the snapshots of this member are in \(layout.snap)",
            ])
            #expect(result.stdout.isEmpty, "nothing listed as a snapshot file: \(result)")
        }
        let direct = try RaftStoreTool.run(["snap", "ls", layout.snap])
        #expect(direct.status == 0, "\(direct)")
        #expect(direct.stderr.isEmpty)
        #expect(direct.stdout.contains(EtcdLayout.snapshotName))
        #expect(!direct.stdout.contains("other:"), "\(direct.stdout)")
        for (given, role) in [(layout.data, "an etcd data directory"), (layout.member, "a member directory")] {
            let note = "raftstore: note: \(given) is \(role); read its snapshot directory \(layout.snap)\n"
            let listed = try RaftStoreTool.run(["snap", "ls", given])
            #expect(listed.status == 0, "\(listed)")
            #expect(listed.stdout == direct.stdout)
            #expect(listed.stderr == note, "\(listed)")
            let verified = try RaftStoreTool.run(["snap", "verify", given])
            #expect(verified.status == 0, "\(verified)")
            #expect(verified.stdout.hasPrefix("ok    \(EtcdLayout.snapshotName)"), "\(verified)")
            #expect(verified.stderr == note, "\(verified)")
        }
        // A member directory that has no snapshot directory yet.
        try FileManager.default.removeItem(atPath: layout.snap)
        for given in [layout.data, layout.member] {
            expectFailure(try RaftStoreTool.run(["snap", "ls", given]), status: 2, mentioning: [
                "without a snapshot directory", "no \(layout.snap)",
            ])
        }
    }

    @Test("inspect given a WAL or snapshot directory names the member directory to give instead")
    func inspectWrongDirectory() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let layout = try EtcdLayout(in: scratch)
        expectFailure(try RaftStoreTool.run(["inspect", layout.wal]), status: 2, mentioning: [
            "\(layout.wal) is a WAL directory", "raftstore inspect \(layout.member)",
        ])
        expectFailure(try RaftStoreTool.run(["inspect", layout.snap]), status: 2, mentioning: [
            "\(layout.snap) is a snapshot directory", "raftstore inspect \(layout.member)",
        ])
        let inspected = try RaftStoreTool.run(["inspect", layout.data])
        #expect(inspected.status == 0, "\(inspected)")
        #expect(inspected.stdout.contains("member directory \(layout.member)"))
    }
}
