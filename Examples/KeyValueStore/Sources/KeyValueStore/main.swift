// A key/value store whose state survives restarts through raft `Storage`.
//
//   swift run KeyValueStore             # an etcd-compatible WAL and LZ4 snapshots on disk
//   swift run KeyValueStore --memory    # the same code, in memory
//   swift run KeyValueStore --dir DIR   # on disk in DIR, kept afterwards (for `raftstore inspect`)
//
// Two ways to drive the same state machine (`Sources/KeyValueStateMachine`): `KeyValueNode`
// saves synchronously (the node `raftstore demo` runs and crashes on purpose), and
// `RaftLogNode` (next to this file) drives a `RaftLog` with the async `Storage` API, as a raft
// node does, and is reopened to show the restart. Choosing the backends is one line.
//
// On disk, `ShardedKeyValueStore` (next to this file) then splits the store into three shards,
// each a raft group on one multi-group log (`MultiRaftLog`), every proposal one write batch
// across the shards, and reopens it.

import EtcdStorage
import Foundation
import KeyValueStateMachine
import LZ4Snapshots
import MemoryStore
import RaftStorage

/// Writes some keys, takes snapshots along the way, and (for durable backends) opens the
/// storage again to show that everything came back.
func demonstrate<Log: LogStore, Snapshots: SnapshotStore>(
    _ openStorage: () throws -> Storage<Log, Snapshots>, durable: Bool
) throws {
    let node = try KeyValueNode(storage: openStorage(), snapshotInterval: 100)
    for visit in 0..<250 {
        try node.propose([.put(key: "user-\(visit % 40)", value: "visit \(visit)")])
    }
    try node.propose([.delete(key: "user-7")])
    print("wrote 251 commands: \(node.state.values.count) keys, last index \(node.lastIndex), "
        + "newest snapshot at \(node.storage.snapshotMetadata.index)")
    print("user-3 = \(node["user-3"] ?? "-"), user-7 = \(node["user-7"] ?? "(deleted)")")
    guard durable else { return }

    try node.storage.close()
    let reopened = try KeyValueNode(storage: openStorage())
    let recovery = reopened.recovery
    print("reopened: restored the snapshot at \(recovery.snapshot.index), replayed \(recovery.replayedEntries) entries, "
        + "now in term \(recovery.term)")
    print("user-3 = \(reopened["user-3"] ?? "-"), same state: \(reopened.state.values == node.state.values)")
    try reopened.storage.close()
}

/// The same through `RaftLog` and the async API: 16 tasks propose at once, then a restart.
func demonstrateRaftLog<Log: LogStore, Snapshots: SnapshotStore>(
    _ openStorage: () throws -> Storage<Log, Snapshots>, durable: Bool
) async throws {
    let node = try await RaftLogNode(storage: openStorage())
    try await withThrowingTaskGroup(of: Void.self) { group in
        for client in 0..<16 {
            group.addTask {
                for visit in 0..<16 { try await node.propose([.put(key: "client-\(client)", value: "visit \(visit)")]) }
            }
        }
        try await group.waitForAll()
    }
    let state = await node.state
    print("RaftLog + async Storage: 256 proposals from 16 tasks, \(state.values.count) keys, "
        + "committed \(await node.committed), newest snapshot at \(await node.storage.snapshotMetadata.index)")
    guard durable else { return }
    try await node.close()
    let reopened = try await RaftLogNode(storage: openStorage())
    print("reopened: RaftLog starts at commit \(await reopened.committed), applied \(await reopened.applied); "
        + "same state: \(await reopened.state.values == state.values)")
    try await reopened.close()
}

let arguments = CommandLine.arguments
let kept = arguments.firstIndex(of: "--dir").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
let directory = kept ?? FileManager.default.temporaryDirectory.appendingPathComponent("kv-example-\(UUID().uuidString)").path
defer { if kept == nil { try? FileManager.default.removeItem(atPath: directory) } }

do {
    if arguments.contains("--memory") {
        // In memory: for tests and for nodes that recover from their peers.
        try demonstrate({ try Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore()) }, durable: false)
        try await demonstrateRaftLog({ try Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore()) }, durable: false)
    } else {
        // On disk: etcd's WAL format in `wal/`, LZ4-compressed snapshots in `snap/`.
        try demonstrate({
            try Storage(log: WALLogStore.open(at: directory + "/wal"),
                        snapshots: LZ4SnapshotStore(directory: directory + "/snap", codec: ProtobufRecordCodec()))
        }, durable: true)
        try await demonstrateRaftLog({
            try Storage(log: WALLogStore.open(at: directory + "/raftlog/wal"),
                        snapshots: LZ4SnapshotStore(directory: directory + "/raftlog/snap", codec: ProtobufRecordCodec()))
        }, durable: true)
        // Many raft groups, one log: three shards written in shared batches.
        try await demonstrateShards(in: directory + "/sharded")
    }
} catch {
    print("KeyValueStore: \(error)")
    exit(1)
}
