import EtcdStorage
import Foundation
import MemoryStore
import RaftStorage
import RaftFiles
import RaftStorageTesting
import TestSupport
import Testing

/// `WALLogStore` keeps only positions for entries of sealed segments (reopened, or sealed by a
/// cut while running) and reads them back from disk. Random workloads with tiny segments,
/// compared step by step with `MemoryLogStore`, which holds everything.
@Suite("WALLogStore: entries of sealed segments read back from disk")
struct LocatedEntriesTests {
    static func open(_ fileSystem: any FileSystem) throws -> WALLogStore<ProtobufRecordCodec> {
        try WALLogStore.open(at: "/data/wal", options: .init(wal: WALOptions(fileSystem: fileSystem, segmentSize: 2048), retainedSegments: nil))
    }

    /// Checks every read the model answers against the store.
    static func expectSame(_ store: some LogStore, _ model: MemoryLogStore, _ step: String) throws {
        let first = try model.firstIndex(), last = try model.lastIndex()
        #expect(try store.firstIndex() == first, "\(step): firstIndex")
        #expect(try store.lastIndex() == last, "\(step): lastIndex")
        for index in (first - 1)...last {
            #expect(try store.term(at: index) == model.term(at: index), "\(step): term at \(index)")
        }
        guard last >= first else { return }
        #expect(try store.entries(in: first..<(last + 1)) == model.entries(in: first..<(last + 1)), "\(step): all entries")
        // Ranges that start and end anywhere, with size limits.
        var random = SeededBytes(seed: last &* 31 &+ first)
        for _ in 0..<8 {
            let low = first + random.next() % (last - first + 1)
            let high = low + 1 + random.next() % (last - low + 1)
            let limit = [UInt64.max, 0, 1, 200, 5000][Int(random.next() % 5)]
            #expect(try store.entries(in: low..<high, maxBytes: limit) == model.entries(in: low..<high, maxBytes: limit),
                    "\(step): entries \(low)..<\(high) within \(limit) bytes")
        }
    }

    @Test("random appends, replacements, compactions and reopens", arguments: Array(UInt64(1)...6))
    func randomWorkload(seed: UInt64) throws {
        let fileSystem = FaultInjectingFileSystem()
        var store = try Self.open(fileSystem)
        let model = MemoryLogStore()
        var random = SeededBytes(seed: seed)
        var term: UInt64 = 1
        for step in 0..<150 {
            let last = try model.lastIndex()
            let first = try model.firstIndex()
            switch random.next() % 10 {
            case 0..<6:
                // Append after the end, or replace from somewhere in the log (a new leader).
                let replaces = random.next() % 4 == 0 && last >= first
                if replaces { term += 1 }
                let start = replaces ? first + random.next() % (last - first + 1) : last + 1
                let count = 1 + Int(random.next() % 12)
                let entries = (0..<count).map { offset in
                    Entry(term: term, index: start + UInt64(offset), data: random.next() % 7 == 0 ? nil : random.bytes(Int(random.next() % 300)))
                }
                let state = HardState(term: term, vote: 1, commit: min(try model.hardState().commit, start - 1))
                try store.save(hardState: state, entries: entries)
                try model.save(hardState: state, entries: entries)
            case 6:
                guard last > first else { continue }
                let through = first + random.next() % (last - first)
                try store.compact(through: through)
                try model.compact(through: through)
            default:
                // Reopen: every sealed segment's entries are located now.
                try store.sync()
                try store.close()
                store = try Self.open(fileSystem)
                // A reopened store starts at its newest snapshot marker: compaction is undone.
                // Re-apply it to the model by compacting the store to the model's boundary.
                let boundary = try model.firstIndex() - 1
                if boundary >= (try store.firstIndex()) { try store.compact(through: boundary) }
            }
            try Self.expectSame(store, model, "step \(step)")
        }
        try store.close()
    }

    @Test("WALLogStore and MemoryLogStore refuse the same calls with the same errors")
    func sameRulesAsMemory() throws {
        let fileSystem = FaultInjectingFileSystem()
        let store = try Self.open(fileSystem)
        let model = MemoryLogStore()
        for log in [store, model] as [any LogStore] {
            try log.applySnapshot(SnapshotMetadata(index: 3, term: 3))
            try log.append([Entry(term: 4, index: 4), Entry(term: 5, index: 5)])
        }
        let calls: [(String, (any LogStore) throws -> Void)] = [
            ("term below the boundary", { _ = try $0.term(at: 2) }),
            ("term past the end", { _ = try $0.term(at: 6) }),
            ("entries at the boundary", { _ = try $0.entries(in: 3..<5) }),
            ("entries past the end", { _ = try $0.entries(in: 4..<8) }),
            ("a gap", { try $0.append([Entry(term: 5, index: 7)]) }),
            ("a batch with a hole", { try $0.append([Entry(term: 5, index: 6), Entry(term: 5, index: 8)]) }),
            ("a commit past the end", { try $0.save(hardState: HardState(term: 5, vote: 1, commit: 9), entries: []) }),
            ("compaction at the boundary", { try $0.compact(through: 3) }),
            ("compaction past the end", { try $0.compact(through: 6) }),
            ("snapshot past the end", { try $0.recordSnapshot(SnapshotMetadata(index: 6, term: 5)) }),
            ("snapshot in another term", { try $0.recordSnapshot(SnapshotMetadata(index: 4, term: 9)) }),
            ("snapshot not newer", { try $0.applySnapshot(SnapshotMetadata(index: 3, term: 3)) }),
        ]
        for (name, call) in calls {
            let walError = thrownStorageError { try call(store) }
            let memoryError = thrownStorageError { try call(model) }
            #expect(walError != nil, "\(name) was accepted")
            #expect(walError?.code == memoryError?.code, "\(name): \(String(describing: walError)) / \(String(describing: memoryError))")
            #expect(walError?.message == memoryError?.message, "\(name): \(String(describing: walError)) / \(String(describing: memoryError))")
        }
        try Self.expectSame(store, model, "after the refused calls")
        try store.close()
    }

    @Test("a damaged frame of a located entry is reported, not trusted")
    func damagedLocatedEntry() throws {
        let fileSystem = FaultInjectingFileSystem()
        let store = try Self.open(fileSystem)
        for index in 1...60 as ClosedRange<UInt64> {
            try store.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: [Entry(term: 1, index: index, data: Array(repeating: UInt8(index), count: 100))])
        }
        try store.close()
        let reopened = try Self.open(fileSystem)
        #expect(try reopened.entries(in: 1..<61).count == 60)

        // Flip a byte inside entry 3's data in the first segment (sealed, so entry 3 is located).
        let segment = try #require(try fileSystem.contentsOfDirectory("/data/wal").filter { $0.hasSuffix(".wal") }.sorted().first)
        var bytes = try #require(fileSystem.contents(of: "/data/wal/" + segment))
        let needle = Array(repeating: UInt8(3), count: 100)
        let at = try #require((0..<(bytes.count - 100)).first { Array(bytes[$0..<($0 + 100)]) == needle })
        bytes[at + 50] ^= 0xFF
        fileSystem.setContents(of: "/data/wal/" + segment, to: bytes)

        let error = #expect(throws: StorageError.self) { _ = try reopened.entries(in: 2..<5) }
        #expect(error?.code == .corrupt)
        #expect(error?.path?.hasSuffix(segment) == true)
        // Entries elsewhere still read.
        #expect(try reopened.entries(in: 50..<61).map(\.index) == Array(50...60))
        try reopened.close()
    }
}
