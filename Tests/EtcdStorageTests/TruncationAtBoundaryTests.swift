import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// A new leader's entry at an index the log's snapshot marker later covers truncates what came
/// after it, even when the log is read from that marker: raft discarded those entries.
@Suite("Entries discarded by raft stay discarded across a restart")
struct TruncationAtBoundaryTests {
    /// Entries 1...5 at term 1; a term-2 leader rewrites index 4 (raft drops 5); 4 is
    /// committed and a snapshot marker recorded at (4, 2).
    static func writeLog(at path: String) throws {
        let store = try WALLogStore.open(at: path)
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: (1...5).map { Entry(term: 1, index: $0, data: [UInt8($0)]) })
        try store.save(hardState: HardState(term: 2, vote: 2, commit: 3), entries: [])
        try store.save(hardState: .empty, entries: [Entry(term: 2, index: 4, data: [40])])
        try store.save(hardState: HardState(term: 2, vote: 2, commit: 4), entries: [])
        #expect(try store.lastIndex() == 4)
        try store.recordSnapshot(SnapshotMetadata(index: 4, term: 2))
        try store.close()
    }

    @Test("reopened at the marker, the log ends at the marker: the discarded entry 5 does not come back")
    func reopen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        try Self.writeLog(at: path)
        let store = try WALLogStore.open(at: path)
        defer { try? store.close() }
        #expect(try store.snapshotMarker().matches(SnapshotMarker(index: 4, term: 2)))
        #expect(try store.firstIndex() == 5)
        #expect(try store.lastIndex() == 4)
        #expect(try store.term(at: 4) == 2)
    }

    @Test("read from the marker or from the start, the WAL gives raft's log")
    func read() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        try Self.writeLog(at: path)
        let fromStart = try WAL.read(at: path, from: .zero, codec: codec)
        #expect(fromStart.entries.map { [$0.index, $0.term] } == [[1, 1], [2, 1], [3, 1], [4, 2]])
        let fromMarker = try WAL.read(at: path, from: SnapshotMarker(index: 4, term: 2), codec: codec)
        #expect(fromMarker.error == nil)
        #expect(fromMarker.entries.isEmpty)
        #expect(fromMarker.lastIndex == 4)
    }
}
