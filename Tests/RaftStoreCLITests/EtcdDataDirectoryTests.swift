import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// Every WAL subcommand and `inspect` on the data directory of a real etcd (3.4 from Debian,
/// 3.5.1 from `make etcd35`) that wrote keys, took snapshots and was killed with SIGKILL.
@Suite("raftstore on real etcd data directories", .serialized)
struct EtcdDataDirectoryTests {
    static let keyCount = 120

    /// Starts etcd, puts the keys, kills it right after the last acknowledged put, and copies the
    /// data directory (etcd's own stays untouched for the next check).
    private func crashedEtcd(_ version: EtcdVersion, scratch: TemporaryDirectory) throws -> (data: String, keys: [String]) {
        let server = try EtcdServer(EtcdBinaries.locate(version), snapshotCount: 25)
        defer { server.shutdown() }
        try server.start()
        let keys = (0..<Self.keyCount).map { String(format: "cli-key-%04d", $0) }
        try server.put(keys.map { (key: $0, value: "value of \($0)") })
        server.kill()
        let data = try scratch.copy(server.dataDirectory, as: "data")
        return (data, keys)
    }

    @Test("etcd 3.4: wal dump, verify, snapshots, import; snap ls, show, verify; inspect", .requires(Tools.etcd34))
    func walCommands34() throws {
        try walCommands(version: .v3_4)
    }

    @Test("etcd 3.5: wal dump, verify, snapshots, import; snap ls, show, verify; inspect", .requires(Tools.etcd35))
    func walCommands35() throws {
        try walCommands(version: .v3_5)
    }

    private func walCommands(version: EtcdVersion) throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let (data, keys) = try crashedEtcd(version, scratch: scratch)
        let wal = data + "/member/wal"

        // dump --json is the library's replay (proven equal to etcd's ReadAll by the WAL tests)
        // and holds every acknowledged key, committed.
        let dump = try RaftStoreTool.run(["wal", "dump", "--json", wal])
        #expect(dump.status == 0, "\(dump)")
        let decoded = try DumpJSON.decode(dump.stdout)
        let replay = try WAL.read(at: wal, from: .zero, codec: ProtobufRecordCodec())
        #expect(replay.error == nil)
        #expect(decoded.entries.count == replay.entries.count)
        #expect(decoded.entries.map(\.index) == replay.entries.map(\.index))
        #expect(decoded.entries.map { $0.data.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } } == replay.entries.map(\.data))
        #expect(decoded.hardState == DumpHardState(term: replay.hardState.term, vote: replay.hardState.vote, commit: replay.hardState.commit))
        #expect(decoded.metadata == replay.metadata.map { Data($0).base64EncodedString() })
        var lastKeyIndex: UInt64 = 0
        for key in keys {
            let entry = replay.entries.last { $0.data.map { String(decoding: $0, as: UTF8.self).contains(key) } ?? false }
            #expect(entry != nil, "\(key) is in no entry")
            lastKeyIndex = max(lastKeyIndex, entry?.index ?? 0)
        }
        #expect(decoded.hardState.commit >= lastKeyIndex)

        // The table shows the same entries.
        let table = try RaftStoreTool.run(["wal", "dump", wal])
        #expect(table.status == 0)
        #expect(table.stdout.contains("\(Format.count(replay.entries.count)) entries, 1 to \(replay.entries.last!.index)"))

        // verify and snapshots.
        let verify = try RaftStoreTool.run(["wal", "verify", wal])
        #expect(verify.status == 0, "\(verify)")
        let markers = try WAL.validSnapshotMarkers(at: wal, codec: ProtobufRecordCodec())
        #expect(markers.count >= 3, "etcd took snapshots: \(markers)")
        let snapshots = try RaftStoreTool.run(["wal", "snapshots", wal])
        #expect(snapshots.status == 0)
        let rows = snapshots.stdout.split(separator: "\n").dropFirst()
        #expect(rows.map { $0.split(separator: " ").prefix(2).joined(separator: " ") } == markers.map { "\($0.index) \($0.term)" })
        // etcd 3.5 records the membership in its snapshot records; 3.4 does not.
        #expect(rows.dropFirst().allSatisfy { $0.contains("voters") } == (version == .v3_5), "\(snapshots.stdout)")

        // import then dump round-trips etcd's WAL.
        let dumpFile = try scratch.write(dump.stdout, to: "dump.json")
        let imported = try RaftStoreTool.run(["wal", "import", scratch.file("copy"), dumpFile])
        #expect(imported.status == 0, "\(imported)")
        let again = try RaftStoreTool.run(["wal", "dump", "--json", scratch.file("copy")])
        #expect(again.stdout == dump.stdout)

        // inspect: where etcd restarts, and no problems.
        let inspect = try RaftStoreTool.run(["inspect", data])
        #expect(inspect.status == 0, "\(inspect)")
        let snapFiles = try FileManager.default.contentsOfDirectory(atPath: data + "/member/snap").filter { $0.hasSuffix(".snap") }.sorted()
        let newest = try #require(snapFiles.last)
        let index = UInt64(newest.dropLast(5).split(separator: "-")[1], radix: 16)!
        #expect(inspect.stdout.contains("restart     opens at snapshot (index: \(index),"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("\(snapFiles.count) .snap, 0 .snap.lz4"))
        #expect(inspect.stdout.contains("(this member)"))
        #expect(inspect.stdout.contains("problems: none"))

        // snap ls, verify and show on etcd's member/snap.
        let snapDirectory = data + "/member/snap"
        let listed = try RaftStoreTool.run(["snap", "ls", snapDirectory])
        #expect(listed.status == 0)
        #expect(listed.stdout.split(separator: "\n").filter { $0.hasPrefix("0000") }.count == snapFiles.count)
        #expect(listed.stdout.contains("etcd db:     db"))
        let verified = try RaftStoreTool.run(["snap", "verify", snapDirectory])
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count == snapFiles.count)
        let shown = try RaftStoreTool.run(["snap", "show", "--json", snapDirectory + "/" + newest])
        #expect(shown.status == 0, "\(shown)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["index"] as? Int == Int(index))
        #expect((object["voters"] as? [Any])?.count == 1, "one member")
        #expect((object["dataLen"] as? Int ?? 0) > 0)
        #expect((object["dataSHA256"] as? String)?.count == 64)
    }

    @Test("damage in etcd's WAL: verify, dump and inspect name the file and offset; repair refuses", .requires(Tools.etcd34))
    func damage() throws {
        let version = EtcdVersion.v3_4
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let (data, _) = try crashedEtcd(version, scratch: scratch)
        let wal = data + "/member/wal"
        let replay = try WAL.read(at: wal, from: .zero, codec: ProtobufRecordCodec(), replayOptions: WALReplayOptions(collectsRecords: true))
        // Flip a byte inside the data of an entry in the middle of the log.
        let records = replay.records.filter { if case .entry(let entry) = $0.record { (entry.data?.count ?? 0) > 8 } else { false } }
        let target = records[records.count / 2]
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: target.path))
        try handle.seek(toOffset: UInt64(target.offset + Int64(target.frameSize) - 4))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(target.offset + Int64(target.frameSize) - 4))
        try handle.write(contentsOf: [byte ^ 0x10])
        try handle.close()

        let segment = (target.path as NSString).lastPathComponent
        for command in [["wal", "verify", wal], ["wal", "dump", wal], ["inspect", data]] {
            let result = try RaftStoreTool.run(command)
            expectFailure(result, status: 1, mentioning: [segment, "at offset \(target.offset)"])
        }
        expectFailure(try RaftStoreTool.run(["wal", "repair", wal]), status: 1, mentioning: ["crcMismatch"])
    }
}

/// The formatting the tool uses for counts, for matching its output.
enum Format {
    static func count(_ value: Int) -> String {
        let digits = String(value)
        var out = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}
