// Writes the small seed corpora of the snapshot, JSON and multi-group log fuzz targets into
// Corpus/ with the stores', the engine's and the CLI's own encoders (run from the Fuzz directory:
// `make fuzz-seeds`).
import EtcdStorage
import Foundation
import LZ4Snapshots
import Logging
import MultiRaftLog
import RaftStorage
import RaftStorageTesting
import RaftStoreCLI

let quiet = Logger(label: "seeds", factory: { _ in SwiftLogNoOpLogHandler() })

func seed(_ directory: String, _ name: String, _ bytes: [UInt8]) throws {
    try FileManager.default.createDirectory(atPath: "Corpus/" + directory, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: "Corpus/\(directory)/\(name)"))
}

let snapshots = [
    ("empty-data", Snapshot(data: nil, metadata: SnapshotMetadata(index: 5, term: 1))),
    ("small", Snapshot(data: Array("state machine at 5".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3], learners: [4]), index: 5, term: 1))),
    ("repetitive", Snapshot(data: [UInt8](repeating: 7, count: 3000) + (0..<500).map { UInt8(truncatingIfNeeded: $0 &* 37) }, metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 5, term: 1))),
]
for (name, snapshot) in snapshots {
    let etcdFS = FaultInjectingFileSystem()
    try etcdFS.createDirectory("/snap", permissions: 0o700)
    let etcd = try EtcdSnapshotStore(directory: "/snap", fileSystem: etcdFS, logger: quiet)
    try etcd.save(snapshot)
    try seed("Snap", name, etcdFS.contents(of: etcd.filePath(of: snapshot.metadata.marker))!)

    let lz4FS = FaultInjectingFileSystem()
    try lz4FS.createDirectory("/snap", permissions: 0o700)
    let lz4 = try LZ4SnapshotStore(directory: "/snap", codec: ProtobufRecordCodec(), fileSystem: lz4FS, logger: quiet)
    try lz4.save(snapshot)
    try seed("SnapLZ4", name, lz4FS.contents(of: lz4.filePath(of: snapshot.metadata.marker))!)
}

let dumps = [
    ("empty", WALDump(snapshot: nil, metadata: nil, hardState: HardState(), entries: [])),
    ("entries", WALDump(
        snapshot: SnapshotMarker(index: 3, term: 1), metadata: Array("node-1".utf8), hardState: HardState(term: 2, vote: 1, commit: 5),
        entries: [Entry(term: 1, index: 4, data: nil), Entry(term: 2, index: 5, data: [1, 2, 3]), Entry(term: 2, index: 6, type: .confChange, data: [])])),
]
for (name, dump) in dumps { try seed("JSONImport", name, Array(dump.json.utf8)) }
try writeEngineSeeds()
print("seeds written")
