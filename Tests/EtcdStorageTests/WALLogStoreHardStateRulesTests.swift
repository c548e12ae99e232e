import EtcdStorage
import MemoryStore
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// `WALLogStore` refuses a HardState that breaks raft's invariants before writing anything:
/// the refused state never reaches the WAL, and the log reopens (and recovers in `Storage`) as
/// if the call had not been made.
@Suite("WALLogStore HardState rules")
struct WALLogStoreHardStateRulesTests {
    static func entries(_ range: ClosedRange<UInt64>, term: UInt64 = 1) -> [Entry] {
        range.map { Entry(term: term, index: $0, data: [UInt8(truncatingIfNeeded: $0)]) }
    }

    /// Whether a HardState record equal to `state` is anywhere in the WAL at `path`.
    static func walHolds(_ state: HardState, at path: String) throws -> Bool {
        let replay = try WAL.read(at: path, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
        #expect(replay.error == nil)
        return replay.records.contains { $0.record == .hardState(state) }
    }

    /// Closes `store`, opens the WAL again and recovers a `Storage` over it, which throws
    /// `invariantViolation` if a commit past the last index had been written.
    static func reopenStorage(_ store: WALLogStore<ProtobufRecordCodec>) throws -> Storage<WALLogStore<ProtobufRecordCodec>, MemorySnapshotStore> {
        try store.close()
        return try Storage(log: WALLogStore.open(at: store.directory), snapshots: MemorySnapshotStore())
    }

    @Test("HardState(commit: 10) with last index 3 is refused, nothing written, and the store reopens fine")
    func commitPastTheLastIndex() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let store = try WALLogStore.open(at: path)
        try store.append(Self.entries(1...3))
        let error = #expect(throws: StorageError.self) { try store.save(hardState: HardState(commit: 10), entries: []) }
        #expect(error?.code == .invalidArgument)
        #expect(try store.hardState() == .empty)
        #expect(try store.lastIndex() == 3)

        let storage = try Self.reopenStorage(store)
        #expect(try storage.initialState().hardState == .empty)
        #expect(try storage.lastIndex() == 3)
        #expect(try storage.entries(in: 1..<4) == Self.entries(1...3))
        try storage.close()
        #expect(try Self.walHolds(HardState(commit: 10), at: path) == false)
    }

    @Test("a commit past the batch's last entry writes neither the entries nor the HardState")
    func commitPastTheBatch() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let store = try WALLogStore.open(at: path)
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 2), entries: Self.entries(1...3))
        let error = #expect(throws: StorageError.self) {
            try store.save(hardState: HardState(term: 1, vote: 1, commit: 9), entries: Self.entries(4...6))
        }
        #expect(error?.code == .invalidArgument)
        #expect(try store.lastIndex() == 3)

        let storage = try Self.reopenStorage(store)
        #expect(try storage.initialState().hardState == HardState(term: 1, vote: 1, commit: 2))
        #expect(try storage.lastIndex() == 3)
        try storage.close()
        #expect(try Self.walHolds(HardState(term: 1, vote: 1, commit: 9), at: path) == false)
    }

    @Test("a commit past a replaced tail is refused; committing the new tail's end is accepted")
    func commitPastAReplacedTail() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let store = try WALLogStore.open(at: path)
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: Self.entries(1...10))
        let error = #expect(throws: StorageError.self) {
            try store.save(hardState: HardState(term: 2, vote: 2, commit: 8), entries: Self.entries(5...6, term: 2))
        }
        #expect(error?.code == .invalidArgument)
        #expect(try store.lastIndex() == 10)
        #expect(try store.term(at: 5) == 1)
        try store.save(hardState: HardState(term: 2, vote: 2, commit: 6), entries: Self.entries(5...6, term: 2))

        let storage = try Self.reopenStorage(store)
        #expect(try storage.initialState().hardState == HardState(term: 2, vote: 2, commit: 6))
        #expect(try storage.lastIndex() == 6)
        try storage.close()
    }

    @Test("a lower term or a changed vote in the same term is refused and never reaches the WAL")
    func termAndVote() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let store = try WALLogStore.open(at: path)
        try store.save(hardState: HardState(term: 3, vote: 1, commit: 0), entries: [])
        for refused in [HardState(term: 2, vote: 1, commit: 0), HardState(term: 3, vote: 2, commit: 0), HardState(term: 3, vote: 0, commit: 0)] {
            let error = #expect(throws: StorageError.self) { try store.save(hardState: refused, entries: Self.entries(1...1, term: 3)) }
            #expect(error?.code == .invalidArgument, "\(refused)")
        }
        #expect(try store.hardState() == HardState(term: 3, vote: 1, commit: 0))
        #expect(try store.lastIndex() == 0)

        let storage = try Self.reopenStorage(store)
        #expect(try storage.initialState().hardState == HardState(term: 3, vote: 1, commit: 0))
        #expect(try storage.lastIndex() == 0)
        try storage.close()
        #expect(try Self.walHolds(HardState(term: 2, vote: 1, commit: 0), at: path) == false)
        #expect(try Self.walHolds(HardState(term: 3, vote: 2, commit: 0), at: path) == false)
    }

    @Test("the group-commit path checks the same rules")
    func saveDurably() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try WALLogStore.open(at: directory.file("wal"))
        _ = try await store.appendDurably(term: 1, data: [1])
        await #expect(throws: StorageError.self) { try await store.saveDurably(hardState: HardState(term: 1, vote: 1, commit: 5), entries: []) }
        try await store.saveDurably(hardState: HardState(term: 1, vote: 1, commit: 2), entries: Self.entries(2...2))
        #expect(try store.hardState() == HardState(term: 1, vote: 1, commit: 2))
        try store.close()
    }
}
