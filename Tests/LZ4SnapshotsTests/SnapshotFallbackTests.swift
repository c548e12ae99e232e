import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// Recovery falls back to an older snapshot when the newest file is unreadable, with the real
/// WAL and each file snapshot store, and keeps every acknowledged entry.
@Suite("Fallback to an older snapshot")
struct SnapshotFallbackTests {
    enum Kind: String, CaseIterable, Sendable { case lz4, etcd }

    static func snapshots(_ kind: Kind, _ directory: String) throws -> AnySnapshotStore {
        switch kind {
        case .lz4: AnySnapshotStore(try LZ4SnapshotStore(directory: directory, codec: ProtobufRecordCodec()))
        case .etcd: AnySnapshotStore(try EtcdSnapshotStore(directory: directory))
        }
    }

    static func open(_ kind: Kind, _ root: String) throws -> Storage<WALLogStore<ProtobufRecordCodec>, AnySnapshotStore> {
        try Storage(
            log: WALLogStore.open(at: root + "/wal"), snapshots: snapshots(kind, root + "/snap"),
            options: .init(retainedEntries: 2, retainedSnapshots: 2))
    }

    @Test("the newest snapshot damaged: recovery opens from the older one, sets the file aside, reports it, and loses nothing", arguments: Kind.allCases)
    func newestDamaged(_ kind: Kind) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.path
        let storage = try Self.open(kind, root)
        var state = HardState()
        for index in UInt64(1)...30 {
            let term: UInt64 = index < 20 ? 1 : 2
            state = HardState(term: term, vote: 1, commit: index)
            try storage.save(hardState: state, entries: [Entry(term: term, index: index, data: Array("entry \(index)".utf8))])
            if index == 13 || index == 27 { try storage.createSnapshot(at: index, data: Array("state at \(index)".utf8)) }
        }
        try storage.close()

        let names = try FileManager.default.contentsOfDirectory(atPath: root + "/snap").filter { !$0.hasPrefix(".") }.sorted()
        #expect(names.count == 2)
        let newest = root + "/snap/" + names.last!
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: newest)))
        let middle = bytes.count / 2
        for offset in middle..<min(bytes.count, middle + 64) { bytes[offset] ^= 0xA5 }
        try Data(bytes).write(to: URL(fileURLWithPath: newest))

        let reopened = try Self.open(kind, root)
        defer { try? reopened.close() }
        #expect(reopened.recovery.snapshot == SnapshotMarker(index: 13, term: 1))
        #expect(reopened.recovery.resumedFromOlderMarker)
        #expect(try reopened.log.snapshotMarker().matches(SnapshotMarker(index: 13, term: 1)))
        #expect(reopened.recovery.actions.map(\.kind) == [.snapshotSetAside])
        #expect(reopened.recovery.actions.first?.snapshot?.index == 27)
        #expect(FileManager.default.fileExists(atPath: newest + ".broken"))
        #expect(try reopened.initialState().hardState == state)
        #expect(try reopened.firstIndex() == 14)
        let entries = try reopened.entries(in: 14..<31)
        #expect(entries.map(\.index) == Array(14...30))
        #expect(entries.allSatisfy { $0.data == Array("entry \($0.index)".utf8) })
        #expect(try reopened.snapshot().data == Array("state at 13".utf8))
    }
}
