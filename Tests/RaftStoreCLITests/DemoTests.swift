import EtcdStorage
import Foundation
import TestSupport
import Testing

/// `raftstore demo`, and every subcommand on the data directory it leaves (this package's own
/// layout: an etcd-format WAL in `wal/`, LZ4 snapshots in `snap/`).
@Suite("demo and this package's own data")
struct DemoTests {
    @Test("the demo crashes its worker, recovers every acknowledged write, and its data passes every check")
    func demo() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let data = scratch.file("demo")
        let result = try RaftStoreTool.run(["demo", "--dir", data, "--entries", "7000"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.isEmpty)
        for line in ["1. write", "writes acknowledged in", "2. crash    SIGKILL", "3. recover  the snapshot at index",
                     "acknowledged writes survived", "OK: every acknowledged write survived the crash"] {
            #expect(result.stdout.contains(line), "missing \(line) in \(result.stdout)")
        }
        // Acknowledgements come a batch of 16 at a time, and those already in the pipe when the
        // kill lands count too: at least the 7,000 asked for.
        let acknowledged = result.stdout.split(separator: "\n").first { $0.contains("writes acknowledged in") }
            .flatMap { Int($0.split(separator: " ")[0].filter(\.isNumber)) } ?? 0
        #expect(acknowledged >= 7000)
        #expect(result.stdout.contains("4. check    all \(Format.count(acknowledged)) acknowledged writes survived"))
        // What it says about purged segments is what the directory holds.
        let oldest = try FileManager.default.contentsOfDirectory(atPath: data + "/wal").compactMap { SegmentName(fileName: $0)?.sequence }.min() ?? 0
        let onDisk = result.stdout.split(separator: "\n").first { $0.contains("on disk  wal/:") }.map(String.init) ?? ""
        #expect(onDisk.contains("purged") == (oldest > 0), "\(onDisk); oldest segment \(oldest)")
        if oldest > 0 { #expect(onDisk.contains("the \(oldest) older"), "\(onDisk)") }

        // The data directory the demo kept is sound for every subcommand.
        let inspect = try RaftStoreTool.run(["inspect", data])
        #expect(inspect.status == 0, "\(inspect)")
        #expect(inspect.stdout.contains(".snap.lz4"))
        #expect(inspect.stdout.contains("problems: none"))
        #expect(try RaftStoreTool.run(["wal", "verify", data + "/wal"]).status == 0)
        let snapshots = try RaftStoreTool.run(["snap", "verify", data + "/snap"])
        #expect(snapshots.status == 0, "\(snapshots)")
        let snapshotFiles = try FileManager.default.contentsOfDirectory(atPath: data + "/snap").filter { $0.hasSuffix(".snap.lz4") }
        #expect(snapshotFiles.count == 2, "snapshots at 3,000 and 6,000 entries: \(snapshotFiles)")
        #expect(snapshots.stdout.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count == snapshotFiles.count)
        let markers = try RaftStoreTool.run(["wal", "snapshots", data + "/wal"])
        #expect(markers.status == 0)
        let newest = try #require(markers.stdout.split(separator: "\n").last?.split(separator: " "))
        let dump = try RaftStoreTool.run(["wal", "dump", data + "/wal", "--snap-index", String(newest[0]), "--snap-term", String(newest[1])])
        #expect(dump.status == 0, "\(dump)")
        #expect(dump.stdout.contains("put key-"), "entries are readable key/value commands")
        let json = try RaftStoreTool.run(["wal", "dump", "--json", data + "/wal", "--snap-index", String(newest[0]), "--snap-term", String(newest[1])])
        let decoded = try DumpJSON.decode(json.stdout)
        // The restarted node's first entry: an empty entry in term 2, after the crash.
        #expect(decoded.entries.last?.term == 2)
        #expect(decoded.entries.last?.data == nil)
        // Convert the log to the LZ4 codec and back: same dump.
        let dumpFile = try scratch.write(json.stdout, to: "dump.json")
        #expect(try RaftStoreTool.run(["wal", "import", "--codec", "lz4", scratch.file("lz4"), dumpFile]).status == 0)
        let converted = try RaftStoreTool.run(["wal", "dump", "--json", scratch.file("lz4"), "--snap-index", String(newest[0]), "--snap-term", String(newest[1])])
        #expect(converted.stdout == json.stdout)
        #expect(try RaftStoreTool.run(["wal", "verify", scratch.file("lz4")]).stdout.contains("lz4 codec"))
    }

    @Test("the demo refuses a directory with data in it")
    func nonEmpty() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        _ = try scratch.write("x", to: "file")
        expectFailure(try RaftStoreTool.run(["demo", "--dir", scratch.path]), status: 2, mentioning: ["not empty"])
    }
}
