import KeyValueStateMachine
import MemoryStore
import RaftStorage

// Replaced by the full example once the LZ4 snapshot store lands.
let node = try KeyValueNode(storage: Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore()))
try node.propose([.put(key: "greeting", value: "hello")])
print(node["greeting"] ?? "-")
