import EtcdStorage
import KeyValueStateMachine
import LZ4Snapshots
import MemoryStore
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// The example state machine the demo runs: its encodings, and recovery through `Storage`.
@Suite("KeyValueStateMachine")
struct KeyValueStateMachineTests {
    @Test("commands round-trip and read as text")
    func commands() throws {
        for command in [KeyValueCommand.put(key: "a", value: "b c\nd"), .put(key: "k", value: ""), .delete(key: "gone")] {
            #expect(try KeyValueCommand(decoding: command.bytes) == command)
        }
        #expect(KeyValueCommand.put(key: "user", value: "1").bytes == Array("put user 1".utf8))
        for bad in ["", "put", "put ", "put  x", "del a b", "get a", "put\u{0}a b"] {
            #expect(throws: StorageError.self, "\(bad.debugDescription)") { try KeyValueCommand(decoding: Array(bad.utf8)) }
        }
    }

    @Test("snapshot data round-trips; damaged data is an error, never another state")
    func snapshotData() throws {
        var machine = KeyValueStateMachine()
        for (index, key) in ["b", "a", "c", "a"].enumerated() {
            try machine.apply(Entry(term: 1, index: UInt64(index + 1), data: KeyValueCommand.put(key: key, value: "v\(index)").bytes))
        }
        try machine.apply(Entry(term: 2, index: 5))
        let data = machine.snapshotData()
        let restored = try KeyValueStateMachine(snapshot: Snapshot(data: data, metadata: SnapshotMetadata(index: 5, term: 2)))
        #expect(restored == machine)
        #expect(restored.values == ["a": "v3", "b": "v0", "c": "v2"])
        // Every cut of the data, alone and with each of its bytes inverted: the format has no
        // checksum of its own (the snapshot store's covers it), but its lengths and pair count
        // must refuse a cut whatever else changed. Decoding gives the original state or a
        // corrupt error inside the data, never a different state.
        var damages = 0
        for length in 0..<data.count {
            var variants = [Array(data.prefix(length))]
            for position in 0..<length {
                var damaged = Array(data.prefix(length))
                damaged[position] ^= 0xFF
                variants.append(damaged)
            }
            for damaged in variants {
                damages += 1
                do {
                    let decoded = try KeyValueStateMachine(snapshot: Snapshot(data: damaged, metadata: SnapshotMetadata(index: 5, term: 2)))
                    #expect(decoded == restored, "\(damaged) decoded as \(decoded.values)")
                } catch {
                    #expect(error.code == .corrupt, "\(damaged): \(error)")
                    #expect(error.offset.map { (0...Int64(damaged.count)).contains($0) } == true, "\(damaged): \(error)")
                }
            }
        }
        #expect(damages == data.count * (data.count + 1) / 2)
        #expect(throws: StorageError.self) {
            try KeyValueStateMachine(snapshot: Snapshot(data: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], metadata: SnapshotMetadata(index: 1, term: 1)))
        }
        #expect(throws: StorageError.self) { try machine.apply(Entry(term: 2, index: 9)) }
    }

    @Test("a node on the WAL and LZ4 snapshots recovers its state, snapshots and term")
    func nodeRecovers() throws {
        let scratch = TemporaryDirectory("cli")
        defer { scratch.remove() }
        func open() throws -> KeyValueNode<WALLogStore<ProtobufRecordCodec>, LZ4SnapshotStore<ProtobufRecordCodec>> {
            let storage = try Storage(
                log: WALLogStore.open(at: scratch.file("wal")),
                snapshots: LZ4SnapshotStore(directory: scratch.file("snap"), codec: ProtobufRecordCodec()),
                options: .init(retainedEntries: 10))
            return try KeyValueNode(storage: storage, snapshotInterval: 50)
        }
        let node = try open()
        #expect(node.recovery.term == 1)
        for number in 0..<120 { try node.propose([.put(key: "k\(number % 7)", value: "\(number)")]) }
        try node.propose([.delete(key: "k3")])
        // Entry 1 is the first term's empty entry; snapshots at applied indexes 50 and 100.
        #expect(node.storage.snapshotMetadata.index == 100)
        let state = node.state
        try node.storage.close()

        let reopened = try open()
        #expect(reopened.state.values == state.values)
        #expect(reopened.recovery.snapshot.index == 100)
        #expect(reopened.recovery.replayedEntries == 22)
        #expect(reopened.recovery.term == 2)
        #expect(reopened.lastIndex == state.appliedIndex + 1, "the new term's empty entry")
        #expect(reopened["k3"] == nil && reopened["k4"] == "116")
        try reopened.storage.close()
    }

    @Test("the same node in memory")
    func memory() throws {
        let node = try KeyValueNode(storage: Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore()), snapshotInterval: 10)
        for number in 0..<25 { try node.propose([.put(key: "k", value: "\(number)")]) }
        #expect(node["k"] == "24")
        #expect(node.storage.snapshotMetadata.index == 20)
    }
}
