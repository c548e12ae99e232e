import EtcdStorage
import RaftStorage
import TestSupport
import Testing

/// A replay's entries keep their data in the chunks read (shared buffers): records across chunk
/// boundaries, and entries kept after the rest of the replay is gone.
@Suite("Replayed entries sharing the chunks read")
struct SharedReplayTests {
    /// 12,000 entries of 1 to 1,500 bytes (about 9 MB, across several 4 MiB chunks), one of
    /// 5 MiB (larger than a chunk) and some without data, saved in batches.
    static func entries() -> [Entry] {
        var generator = SeededBytes(seed: 41)
        return (1...12_000).map { index in
            switch index {
            case 6_000: Entry(term: 3, index: UInt64(index), data: generator.bytes(5 << 20))
            case let index where index % 997 == 0: Entry(term: 3, index: UInt64(index))
            default: Entry(term: 3, index: UInt64(index), data: generator.bytes(1 + Int(generator.next() % 1_500)))
            }
        }
    }

    @Test("WAL.read and WAL.open give every entry intact, and kept entries outlive the replay")
    func replays() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let entries = Self.entries()
        let store = try WALLogStore.open(at: path)
        for start in stride(from: 0, to: entries.count, by: 500) {
            try store.save(hardState: HardState(term: 3, vote: 1, commit: 0), entries: Array(entries[start..<min(start + 500, entries.count)]))
        }
        try store.close()

        var kept: [Entry] = []
        do {
            let replay = try WAL.read(at: path, from: .zero, codec: ProtobufRecordCodec())
            #expect(replay.error == nil)
            #expect(replay.entries == entries)
            // Every entry with data refers to a chunk instead of holding a copy.
            #expect(replay.entries.allSatisfy { $0.dataCount == nil || $0.sharedBuffer != nil })
            kept = stride(from: 0, to: replay.entries.count, by: 1_000).map { replay.entries[$0] }
            let opened = try WAL.open(at: path, from: .zero, codec: ProtobufRecordCodec())
            #expect(opened.replay.entries == entries)
            #expect(opened.replay.entries.allSatisfy { $0.dataCount == nil || $0.sharedBuffer != nil })
            try opened.wal.close()
        }
        // The replays are gone; what was kept still reads its own bytes.
        let noise = (0..<256).map { [UInt8](repeating: UInt8($0), count: 64 << 10) }
        #expect(noise.count == 256)
        #expect(kept == stride(from: 0, to: entries.count, by: 1_000).map { entries[$0] })
    }
}
