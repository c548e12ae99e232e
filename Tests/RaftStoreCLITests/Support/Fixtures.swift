import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import TestSupport

/// Paths to test data.
enum Fixtures {
    /// The WALs written by etcd 3.4's own Go code, with what etcd's ReadAll returned
    /// (`Tests/EtcdStorageTests/Fixtures/go-written`, see the README there).
    static var goWritten: String { PackagePaths.root + "/Tests/EtcdStorageTests/Fixtures/go-written" }

    static func goWAL(_ name: String) -> String { goWritten + "/" + name + "/wal" }

    /// Saves a 100 KB snapshot (index 9, term 2) in `directory` with the store that writes
    /// `suffix` files (`.snap` or `.snap.lz4`) and returns its file's path.
    static func savedSnapshotFile(suffix: String, in directory: String) throws -> String {
        let snapshot = Snapshot(data: Array(repeating: 7, count: 100_000), metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 9, term: 2))
        if suffix == ".snap" {
            let store = try EtcdSnapshotStore(directory: directory)
            try store.save(snapshot)
            return store.filePath(of: snapshot.metadata.marker)
        }
        let store = try LZ4SnapshotStore(directory: directory, codec: ProtobufRecordCodec())
        try store.save(snapshot)
        return store.filePath(of: snapshot.metadata.marker)
    }

    /// The fixture names from index.json.
    static let goFixtureNames: [String] = {
        struct Index: Decodable { var fixtures: [String] }
        let url = URL(fileURLWithPath: goWritten + "/index.json")
        return (try? JSONDecoder().decode(Index.self, from: Data(contentsOf: url)).fixtures) ?? []
    }()
}

/// An etcd data directory built from fixtures, as `etcd --data-dir` lays it out.
struct EtcdLayout {
    /// `<scratch>/data`, etcd's `--data-dir`.
    var data: String
    /// `<data>/member`.
    var member: String
    /// `<member>/wal`: a copy of a Go-written fixture's WAL.
    var wal: String
    /// `<member>/snap`: one `.snap` file etcd wrote, and an empty `db`.
    var snap: String

    /// The etcd `.snap` file copied into ``snap``.
    static let snapshotName = "0000000000000002-000000000000000a.snap"

    /// Builds the layout in `scratch`, with the WAL of the Go-written fixture `fixture`.
    init(in scratch: TemporaryDirectory, wal fixture: String = "single-segment") throws {
        data = scratch.file("data")
        member = data + "/member"
        wal = member + "/wal"
        snap = member + "/snap"
        try FileManager.default.createDirectory(atPath: snap, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.goWAL(fixture), toPath: wal)
        try FileManager.default.copyItem(
            atPath: SnapCommandsTests.etcdFixtures + "/" + Self.snapshotName, toPath: snap + "/" + Self.snapshotName)
        try writeBytes([], to: snap + "/db")
    }
}
