import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// Records of 10 MiB and more, which etcd 3.4.10 to 3.5.4 refuse to read, are written and read
/// back here (bounded by the file's size, as etcd 3.5.5+ does).
@Suite("Records of 10 MiB and more")
struct LargeRecordTests {
    @Test("a 12 MiB entry between small ones is written, replayed, reopened and read back intact")
    func twelveMiB() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        var generator = SeededBytes(seed: 12)
        let large = Entry(term: 1, index: 2, data: generator.bytes(12 << 20))
        let entries = [Entry(term: 1, index: 1, data: [1]), large, Entry(term: 1, index: 3, data: [3])]
        let store = try WALLogStore.open(at: path)
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: entries)
        try store.close()

        let replay = try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
        #expect(replay.error == nil)
        #expect(replay.entries == entries)
        let frame = try #require(replay.records.first { if case .entry(let entry) = $0.record { entry.index == 2 } else { false } })
        #expect(frame.frameSize > 12 << 20)

        let reopened = try WALLogStore.open(at: path)
        defer { try? reopened.close() }
        #expect(try reopened.entries(in: 1..<4) == entries)
        #expect(try reopened.hardState() == HardState(term: 1, vote: 1, commit: 3))
    }
}
