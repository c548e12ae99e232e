// Reads an etcd member's data directory through this package's API: where etcd's restart
// would start, the membership and HardState, and the last requests in its WAL.
//
//   swift run EtcdInspector /var/lib/etcd      (etcd's --data-dir; stop the member first,
//                                               or point it at a copy)
//
// Reading never changes the WAL. Like etcd itself, the snapshot store sets an unreadable
// .snap file aside (renamed .broken) and falls back to an older one.

import EtcdStorage
import Foundation
import RaftStorage

guard CommandLine.arguments.count == 2 else {
    print("usage: EtcdInspector <etcd data directory>")
    exit(2)
}
let member = CommandLine.arguments[1] + "/member"
let codec = ProtobufRecordCodec()

do {
    // 1. The snapshot markers a restart may open at: those the committed HardState covers
    //    (etcd's wal.ValidSnapshotEntries).
    let markers = try WAL.validSnapshotMarkers(at: member + "/wal", codec: codec)

    // 2. The newest snapshot file matching one of them (etcd's Snapshotter.LoadNewestAvailable).
    let snapshots = try EtcdSnapshotStore(directory: member + "/snap")
    let snapshot = try snapshots.loadNewest(matching: markers)
    let start = snapshot?.metadata.marker ?? .zero

    // 3. Replay the WAL from there, as etcd's restart does (wal.Open + ReadAll).
    let replay = try WAL.read(at: member + "/wal", from: start, codec: codec)
    if let error = replay.error { throw error }

    print("restart opens at snapshot \(start) of \(markers.count) valid markers")
    if let snapshot {
        print("snapshot: \(snapshot.data?.count ?? 0) bytes of state, voters \(snapshot.metadata.confState.voters)")
    }
    let state = replay.hardState
    print("HardState: term \(state.term), vote \(state.vote), commit \(state.commit)")
    print("\(replay.entries.count) entries after the snapshot; the last requests:")
    for entry in replay.entries.suffix(5) {
        print("  \(entry.index) (term \(entry.term)): \(EtcdRequest.describe(entry))")
    }
} catch {
    print("EtcdInspector: \(error)")
    exit(1)
}
