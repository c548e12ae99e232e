import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// `raftstore snap ls`, `snap show` and `snap verify` on `.snap` files written by etcd's own Go
/// code and on `.snap.lz4` files written by `LZ4SnapshotStore`.
@Suite("snap ls, show, verify")
struct SnapCommandsTests {
    static let etcdFixtures = PackagePaths.root + "/Tests/LZ4SnapshotsTests/Fixtures/etcd-snap"

    struct Expected: Decodable {
        var file: String
        var index: UInt64
        var term: UInt64
        var voters: [UInt64]?
        var learners: [UInt64]?
    }

    static func expected() throws -> [Expected] {
        try JSONDecoder().decode([Expected].self, from: Data(contentsOf: URL(fileURLWithPath: etcdFixtures + "/expected.json")))
    }

    /// What `snap show --json` prints, decoded.
    struct Shown: Decodable, Equatable {
        var index: UInt64
        var term: UInt64
        var voters: [UInt64]
        var learners: [UInt64]
        var dataLen: Int
        var dataSHA256: String
    }

    /// SHA-256 by coreutils, an implementation independent of the tool's.
    static func sha256sum(_ bytes: [UInt8]) throws -> String {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let file = scratch.file("data")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    @Test("snap show --json of etcd-written .snap files: metadata, data length and SHA-256")
    func showEtcdFixtures() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        // The library's own load of the same files, from a copy (a load may set files aside).
        let copy = scratch.file("snap")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.etcdFixtures) where name.hasSuffix(".snap") {
            try FileManager.default.copyItem(atPath: Self.etcdFixtures + "/" + name, toPath: copy + "/" + name)
        }
        let store = try EtcdSnapshotStore(directory: copy)
        for expected in try Self.expected() {
            let result = try RaftStoreTool.run(["snap", "show", "--json", Self.etcdFixtures + "/" + expected.file])
            #expect(result.status == 0, "\(expected.file): \(result)")
            let text = result.stdout.trimmingCharacters(in: .newlines)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["index", "term", "voters", "learners", "dataLen", "dataSHA256"])
            let shown = try JSONDecoder().decode(Shown.self, from: Data(text.utf8))
            let snapshot = try #require(try store.loadNewest(matching: [SnapshotMarker(index: expected.index, term: expected.term)]))
            #expect(shown == Shown(
                index: expected.index, term: expected.term, voters: expected.voters ?? [], learners: expected.learners ?? [],
                dataLen: snapshot.data?.count ?? 0, dataSHA256: try Self.sha256sum(snapshot.data ?? [])), "\(expected.file)")
        }
    }

    @Test("snap ls and verify on etcd-written files, and on LZ4 files the store wrote")
    func listAndVerify() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let etcd = try RaftStoreTool.run(["snap", "verify", Self.etcdFixtures])
        #expect(etcd.status == 0, "\(etcd)")
        #expect(etcd.stdout.split(separator: "\n").filter { $0.hasPrefix("ok ") }.count == (try Self.expected().count))

        let directory = scratch.file("lz4")
        let store = try LZ4SnapshotStore(directory: directory, codec: ProtobufRecordCodec())
        let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        try store.save(Snapshot(data: big, metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2], learners: [9]), index: 50, term: 4)))
        try store.save(Snapshot(data: Array("small".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 20, term: 3)))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: directory + "/notes.txt"))

        let listed = try RaftStoreTool.run(["snap", "ls", directory])
        #expect(listed.status == 0)
        let rows = listed.stdout.split(separator: "\n").dropFirst().filter { $0.hasPrefix("0000") }
        #expect(rows.map { $0.split(separator: " ")[0] } == ["0000000000000004-0000000000000032.snap.lz4", "0000000000000003-0000000000000014.snap.lz4"])
        #expect(listed.stdout.contains("other:       notes.txt"))

        let verified = try RaftStoreTool.run(["snap", "verify", directory])
        #expect(verified.status == 0, "\(verified)")
        let shown = try RaftStoreTool.run(["snap", "show", "--json", store.filePath(of: SnapshotMarker(index: 50, term: 4))])
        let decoded = try JSONDecoder().decode(Shown.self, from: Data(shown.stdout.utf8))
        #expect(decoded == Shown(index: 50, term: 4, voters: [1, 2], learners: [9], dataLen: big.count, dataSHA256: try Self.sha256sum(big)))
        let text = try RaftStoreTool.run(["snap", "show", store.filePath(of: SnapshotMarker(index: 20, term: 3))])
        #expect(text.stdout.contains("snapshot    index 20, term 3"))
        #expect(text.stdout.contains("membership  voters [1]"))
    }

    @Test("damaged files are reported with file and offset, and left where they are", arguments: [".snap", ".snap.lz4"])
    func damaged(suffix: String) throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        let directory = scratch.file("snap")
        let path = try Fixtures.savedSnapshotFile(suffix: suffix, in: directory)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let before = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()

        let name = (path as NSString).lastPathComponent
        expectFailure(try RaftStoreTool.run(["snap", "verify", directory]), status: 1, mentioning: [name, "offset"])
        expectFailure(try RaftStoreTool.run(["snap", "show", path]), status: 1, mentioning: [name])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == before, "nothing renamed or removed")

        // Garbage under a valid name, an empty file, a truncated one.
        for content in [[UInt8](), Array(bytes.prefix(40)), (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }] {
            try Data(content).write(to: URL(fileURLWithPath: path))
            expectFailure(try RaftStoreTool.run(["snap", "show", "--json", path]), status: 1, mentioning: [name])
        }
    }

    @Test("usage errors")
    func usage() throws {
        expectFailure(try RaftStoreTool.run(["snap"]), status: 2)
        expectFailure(try RaftStoreTool.run(["snap", "ls", "/nonexistent/raftstore"]), status: 2)
        expectFailure(try RaftStoreTool.run(["snap", "show", PackagePaths.root + "/Package.swift"]), status: 2, mentioning: ["not a snapshot file name"])
        expectFailure(try RaftStoreTool.run(["snap", "show", Self.etcdFixtures]), status: 2)
        expectFailure(try RaftStoreTool.run(["snap", "verify"]), status: 2)
    }
}
