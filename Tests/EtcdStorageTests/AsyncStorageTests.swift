import EtcdStorage
import MemoryStore
import RaftFiles
import RaftStorage
import RaftStorageTesting
import Synchronization
import Testing

/// `Storage`'s async API: durable on return, group commit through `Storage` and `AnyLogStore`,
/// the `LogStore` defaults a third-party store gets, and snapshots.
@Suite("Async Storage")
struct AsyncStorageTests {
    static let wal = "/data/wal"
    static let snap = "/data/snap"

    /// Counts fdatasyncs.
    final class SyncCounter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        func reset() { count.withLock { $0 = 0 } }
        var value: Int { count.withLock { $0 } }

        /// `base` with its fdatasyncs counted here.
        func counting(_ base: FaultInjectingFileSystem) -> SyncHookFileSystem {
            SyncHookFileSystem(base: base) { kind, _, perform throws(StorageError) in
                if kind == .data { self.add() }
                try perform()
            }
        }
    }

    /// A WAL + `.snap` storage over `fileSystem`, whose data fdatasyncs `syncs` counts.
    static func open(_ fileSystem: FaultInjectingFileSystem, syncs: SyncCounter = SyncCounter()) throws -> Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore> {
        let counted = syncs.counting(fileSystem)
        let log = try WALLogStore.open(at: wal, options: .init(wal: WALOptions(fileSystem: counted), retainedSegments: nil))
        return try Storage(log: log, snapshots: try EtcdSnapshotStore(directory: snap, fileSystem: counted))
    }

    @Test("16 tasks appending through async Storage: consecutive indexes, shared fdatasyncs, all durable after a power cut")
    func groupCommitThroughStorage() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let syncs = SyncCounter()
        let storage = try Self.open(fileSystem, syncs: syncs)
        let tasks = 16, perTask = 25
        let indexes = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var mine: [UInt64] = []
                    for number in 0..<perTask {
                        mine.append(try await storage.append(term: 1, data: Array("\(task)/\(number)".utf8)))
                    }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await mine in group {
                #expect(mine == mine.sorted(), "a task's own appends keep their order")
                all += mine
            }
            return all
        }
        let total = tasks * perTask
        #expect(Set(indexes) == Set(1...UInt64(total)))
        #expect(syncs.value < total, "concurrent appends share fdatasyncs (\(syncs.value) for \(total) entries)")

        fileSystem.crash(.dropUnsynced)
        let reopened = try Self.open(fileSystem)
        #expect(try reopened.lastIndex() == UInt64(total), "every acknowledged append survives")
        try reopened.close()
    }

    @Test("async save is durable on return, also for a HardState-only batch raft would not sync")
    func saveIsDurable() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let storage = try Self.open(fileSystem)
        try await storage.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: makeEntries(1...5, term: 1))
        // Commit alone: the synchronous save would not sync it (raft's MustSync); the async one does.
        try await storage.save(hardState: HardState(term: 1, vote: 1, commit: 5), entries: [])
        fileSystem.crash(.dropUnsynced)
        let reopened = try Self.open(fileSystem)
        #expect(try reopened.initialState().hardState == HardState(term: 1, vote: 1, commit: 5))
        #expect(try reopened.entries(in: 1..<6) == makeEntries(1...5, term: 1))
        try reopened.close()
    }

    @Test("async save of a batch with a snapshot, then an async local snapshot, both durable on return")
    func snapshots() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let storage = try Self.open(fileSystem)
        let received = Snapshot(data: [1, 2, 3], metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 10, term: 2))
        try await storage.save(hardState: HardState(term: 2, vote: 0, commit: 10), entries: makeEntries(11...20, term: 2), snapshot: received)
        try await storage.save(hardState: HardState(term: 2, vote: 0, commit: 20), entries: [])
        let taken = try await storage.createSnapshot(at: 15, data: [4, 5])
        #expect(taken.metadata.index == 15)
        fileSystem.crash(.dropUnsynced)
        let reopened = try Self.open(fileSystem)
        #expect(reopened.snapshotMetadata.index == 15)
        #expect(try reopened.lastIndex() == 20)
        try reopened.close()
    }

    @Test("AnyLogStore passes the async calls on to the store's own group commit")
    func anyLogStoreForwards() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let syncs = SyncCounter()
        let typed = try Self.open(fileSystem, syncs: syncs)
        try typed.close()
        let counted = syncs.counting(fileSystem)
        let log = AnyLogStore(try WALLogStore.open(at: Self.wal, options: .init(wal: WALOptions(fileSystem: counted), retainedSegments: nil)))
        let storage = try Storage(log: log, snapshots: AnySnapshotStore(MemorySnapshotStore()))
        syncs.reset()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<16 {
                group.addTask { for _ in 0..<10 { _ = try await storage.append(term: 1, data: [UInt8(task)]) } }
            }
            try await group.waitForAll()
        }
        #expect(try storage.lastIndex() == 160)
        #expect(syncs.value < 160, "the type-erased log still shares fdatasyncs")
        try await storage.sync()
        try storage.close()
    }

    @Test("a store with only the synchronous calls gets working async defaults: ordered appends, durable saves")
    func defaultsForThirdPartyStores() async throws {
        let storage = try Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore())
        let indexes = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for task in 0..<8 { group.addTask { try await storage.append(term: 1, data: [UInt8(task)]) } }
            var all: [UInt64] = []
            for try await index in group { all.append(index) }
            return all
        }
        #expect(Set(indexes) == Set(1...8))
        try await storage.save(hardState: HardState(term: 1, vote: 0, commit: 8), entries: [])
        try await storage.sync()
        #expect(try storage.initialState().hardState.commit == 8)
    }

    /// Hands out indexes and saves them through async `Storage`, reentrantly.
    actor OrderedWriter<Log: LogStore, Snapshots: SnapshotStore> {
        let storage: Storage<Log, Snapshots>
        var next: UInt64 = 1

        init(_ storage: Storage<Log, Snapshots>) { self.storage = storage }

        func write() async throws {
            let index = next
            next += 1
            // No await between taking the index and the save reaching the log: the save runs on
            // this actor until it waits for the disk, so the next call's index comes after it.
            try await storage.save(hardState: .empty, entries: [Entry(term: 1, index: index, data: [UInt8(truncatingIfNeeded: index)])])
        }
    }

    static func writeFromSixteenTasks<Log: LogStore, Snapshots: SnapshotStore>(_ storage: Storage<Log, Snapshots>) async throws {
        let writer = OrderedWriter(storage)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { for _ in 0..<20 { try await writer.write() } } }
            try await group.waitForAll()
        }
        #expect(try storage.lastIndex() == 320)
    }

    @Test("saves an actor makes one after another reach the log in that order, while their syncs are shared")
    func savesKeepTheActorsOrder() async throws {
        try await Self.writeFromSixteenTasks(try Self.open(FaultInjectingFileSystem()))
        try await Self.writeFromSixteenTasks(try Storage(log: MemoryLogStore(), snapshots: MemorySnapshotStore()))
    }

    /// A raft node's actor hands each Ready's save to a task of its own, in order.
    actor Node {
        let storage: Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>
        init(_ storage: Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>) { self.storage = storage }

        /// The save of a Ready that installs `snapshot`, in a task of its own.
        private func installing(_ snapshot: Snapshot) -> Task<Void, any Error> {
            Task { try await self.storage.save(hardState: HardState(term: 1, vote: 1, commit: snapshot.metadata.index), entries: [], snapshot: snapshot) }
        }

        func saveInOrder(snapshot: Snapshot, then entries: [Entry]) -> (Task<Void, any Error>, Task<Void, any Error>) {
            (installing(snapshot), Task { try await self.storage.save(hardState: HardState(term: 1, vote: 1, commit: entries.last!.index), entries: entries) })
        }

        func appendAfter(snapshot: Snapshot) -> (Task<Void, any Error>, Task<UInt64, any Error>) {
            (installing(snapshot), Task { try await self.storage.append(term: 1, data: [1]) })
        }
    }

    /// A storage holding entries 1 to 3, and a leader's snapshot at 100 large enough that its
    /// save is still running when the next task starts.
    static func aboutToInstall(_ fileSystem: FaultInjectingFileSystem) async throws -> (Storage<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>, Snapshot) {
        let storage = try open(fileSystem)
        try await storage.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: (1...3).map { Entry(term: 1, index: $0) })
        return (storage, Snapshot(data: Array(repeating: 7, count: 1 << 20), metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 100, term: 1)))
    }

    @Test("a save after a save with a snapshot reaches the log after it")
    func savesAfterASnapshotKeepTheirOrder() async throws {
        let fileSystem = FaultInjectingFileSystem()
        let (storage, snapshot) = try await Self.aboutToInstall(fileSystem)
        let (first, second) = await Node(storage).saveInOrder(snapshot: snapshot, then: (101...105).map { Entry(term: 1, index: $0, data: [UInt8($0)]) })
        try await first.value
        try await second.value
        #expect(try storage.snapshot().metadata.index == 100)
        #expect(try storage.lastIndex() == 105)
        #expect(try storage.entries(in: 101..<106).map(\.index) == Array(101...105))

        try storage.close()
        fileSystem.crash(.dropUnsynced)
        let reopened = try Self.open(fileSystem)
        #expect(try reopened.lastIndex() == 105, "acknowledged entries lost")
        try reopened.close()
    }

    @Test("an append after a save with a snapshot reaches the log after it")
    func appendAfterASnapshotKeepsItsOrder() async throws {
        let (storage, snapshot) = try await Self.aboutToInstall(FaultInjectingFileSystem())
        let (first, second) = await Node(storage).appendAfter(snapshot: snapshot)
        try await first.value
        #expect(try await second.value == 101)
        #expect(try storage.lastIndex() == 101)
        try storage.close()
    }
}
