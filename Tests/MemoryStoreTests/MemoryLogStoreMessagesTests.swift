import MemoryStore
import RaftStorage
import RaftStorageTesting
import TestSupport
import Testing

/// The log rules' errors carry etcd `MemoryStorage`'s messages (the conformance suite checks
/// the codes). They are written once, in the core's `LogWindow`, which every log store of the
/// package follows.
@Suite("MemoryLogStore: etcd's error messages")
struct MemoryLogStoreMessagesTests {
    /// etcd's test log: boundary (3, 3), entries 4 and 5 in terms 4 and 5.
    static func etcdLog() throws -> MemoryLogStore {
        let log = MemoryLogStore()
        try log.applySnapshot(SnapshotMetadata(index: 3, term: 3))
        try log.append([Entry(term: 4, index: 4), Entry(term: 5, index: 5)])
        return log
    }

    @Test("each refused call names etcd's reason")
    func messages() throws {
        let log = try Self.etcdLog()
        let expected: [(String, StorageError.Code, String, () throws -> Void)] = [
            ("term below the boundary", .compacted, "requested index is unavailable due to compaction", { _ = try log.term(at: 2) }),
            ("term past the end", .unavailable, "requested entry at index is unavailable", { _ = try log.term(at: 6) }),
            ("entries at the boundary", .compacted, "requested index is unavailable due to compaction", { _ = try log.entries(in: 3..<5) }),
            ("entries past the end", .unavailable, "entries' hi(8) is out of bound lastindex(5)", { _ = try log.entries(in: 4..<8) }),
            ("a gap", .invalidArgument, "missing log entry [last: 5, append at: 7]", { try log.append([Entry(term: 5, index: 7)]) }),
            ("compaction at the boundary", .compacted, "requested index is unavailable due to compaction", { try log.compact(through: 3) }),
            ("compaction past the end", .unavailable, "compact 6 is out of bound lastindex(5)", { try log.compact(through: 6) }),
            ("snapshot past the end", .unavailable, "snapshot 6 is out of bound lastindex(5)", {
                try log.recordSnapshot(SnapshotMetadata(index: 6, term: 5))
            }),
            ("snapshot in another term", .invalidArgument, "snapshot term 9 differs from the log's term 4 at index 4", {
                try log.recordSnapshot(SnapshotMetadata(index: 4, term: 9))
            }),
            ("snapshot not newer", .snapshotOutOfDate, "requested index is older than the existing snapshot", {
                try log.applySnapshot(SnapshotMetadata(index: 3, term: 3))
            }),
            ("created snapshot past the end", .unavailable, "snapshot 6 is out of bound lastindex(5)", {
                _ = try log.createSnapshot(at: 6, confState: nil, data: nil)
            }),
        ]
        for (name, code, message, call) in expected {
            let error = thrownStorageError(call)
            #expect(error?.code == code, "\(name): \(String(describing: error))")
            #expect(error?.message == message, "\(name): \(String(describing: error))")
        }
        // Nothing the refused calls did changed the log.
        #expect(try log.firstIndex() == 4)
        #expect(try log.lastIndex() == 5)
        #expect(try log.term(at: 3) == 3)
    }

    @Test("an empty log: reads are unavailable with etcd's messages")
    func emptyLog() {
        let log = MemoryLogStore()
        #expect(thrownStorageError { _ = try log.entries(in: 1..<1) }?.message == "requested entry at index is unavailable")
        #expect(thrownStorageError { _ = try log.entries(in: 1..<2) }?.message == "entries' hi(2) is out of bound lastindex(0)")
        #expect(thrownStorageError { try log.compact(through: 1) }?.message == "compact 1 is out of bound lastindex(0)")
    }
}
