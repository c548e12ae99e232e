import EtcdStorage
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// How the WAL answers failing disks, through the fault-injecting file system: a failed fsync
/// or write poisons it until it is reopened, a full disk leaves the log readable, consistent
/// and reopenable, and nothing acknowledged is lost in any of it.
@Suite("WAL fault responses")
struct FaultResponseTests {
    typealias Store = WALLogStore<ProtobufRecordCodec>
    let fs = FaultInjectingFileSystem()
    let directory = "/data/wal"

    func open() throws(StorageError) -> Store {
        try WALLogStore.open(at: directory, options: Store.Options(
            wal: WALOptions(fileSystem: fs, segmentSize: 8192, logger: Logger(label: "faults", factory: { _ in SwiftLogNoOpLogHandler() })),
            retainedSegments: nil))
    }

    static func entries(_ range: ClosedRange<UInt64>, term: UInt64 = 1) -> [Entry] {
        range.map { Entry(term: term, index: $0, data: Array(repeating: UInt8(truncatingIfNeeded: $0), count: 200)) }
    }

    /// Checks that `store` holds exactly `expected` from index 1, and after it at most the batch
    /// whose save failed (`unacknowledged`): what reached the disk of a failed save is unknown.
    func expectHolds(_ store: Store, _ expected: [Entry], unacknowledged: [Entry] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let last = try store.lastIndex()
        #expect(last == UInt64(expected.count) || last == UInt64(expected.count + unacknowledged.count), sourceLocation: sourceLocation)
        #expect(try store.entries(in: 1..<(last + 1)) == Array((expected + unacknowledged).prefix(Int(last))), sourceLocation: sourceLocation)
    }

    /// Saves batches of four entries (each committing the ones before it) until a save fails or
    /// `rounds` batches are in; returns the batches acknowledged, the one that failed and its error.
    static func saveUntilFailure(_ store: Store, rounds: UInt64) -> (acknowledged: [Entry], failed: [Entry], failure: StorageError?) {
        var acknowledged: [Entry] = []
        for round in UInt64(0)..<rounds {
            let batch = entries((round * 4 + 1)...(round * 4 + 4))
            do {
                try store.save(hardState: HardState(term: 1, vote: 1, commit: round * 4), entries: batch)
                acknowledged += batch
            } catch {
                return (acknowledged, batch, error)
            }
        }
        return (acknowledged, [], nil)
    }

    @Test("a failed fsync refuses every later write until reopened; the reopened log loses nothing acknowledged, even after a crash")
    func failedFsync() throws {
        var acknowledged = Self.entries(1...10)
        let store = try open()
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 5), entries: acknowledged)
        fs.inject(.syncFails(pathContains: ".wal"))
        let failure = #expect(throws: StorageError.self) { try store.save(hardState: .empty, entries: Self.entries(11...12)) }
        #expect(failure?.errno == 5)
        let refused = #expect(throws: StorageError.self) { try store.save(hardState: .empty, entries: Self.entries(11...12)) }
        #expect(refused?.code == .closed)
        #expect(throws: StorageError.self) { try store.sync() }
        #expect(try store.lastIndex() >= 10, "reads go on")
        try? store.close()
        #expect(fs.statistics.faultsInjected == 1)

        // Reopened in the same boot: the failed batch may still be visible (the page cache has
        // it, the disk may not), but whatever the log builds on must be durable.
        let reopened = try open()
        let last = try reopened.lastIndex()
        #expect(last == 10 || last == 12)
        acknowledged = try reopened.entries(in: 1..<(last + 1))
        let more = Self.entries((last + 1)...(last + 5), term: 2)
        try reopened.save(hardState: HardState(term: 2, vote: 1, commit: 10), entries: more)
        acknowledged += more
        fs.crash(.dropUnsynced)
        let recovered = try open()
        try expectHolds(recovered, acknowledged)
        #expect(try recovered.hardState() == HardState(term: 2, vote: 1, commit: 10))
        try recovered.close()
    }

    @Test("a failed write poisons the WAL the same way")
    func failedWrite() throws {
        let acknowledged = Self.entries(1...5)
        let store = try open()
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 1), entries: acknowledged)
        fs.inject(FaultInjectingFileSystem.Fault(.write, pathContains: ".wal", errno: 5))
        #expect(throws: StorageError.self) { try store.save(hardState: .empty, entries: Self.entries(6...6)) }
        let refused = #expect(throws: StorageError.self) { try store.save(hardState: .empty, entries: Self.entries(6...6)) }
        #expect(refused?.code == .closed)
        try? store.close()
        fs.crash(.dropUnsynced)
        let reopened = try open()
        try expectHolds(reopened, acknowledged)
        try reopened.save(hardState: .empty, entries: Self.entries(6...6))
        try reopened.close()
    }

    @Test("a full disk fails the write with ENOSPC; the log stays readable, consistent and reopenable, and continues once there is space")
    func diskFullOnWrite() throws {
        let store = try open()
        fs.capacity = fs.files(under: "/").reduce(0) { $0 + (fs.contents(of: $1)?.count ?? 0) } + 30_000
        let (acknowledged, failed, failure) = Self.saveUntilFailure(store, rounds: 200)
        let error = try #require(failure, "the disk never filled")
        #expect(error.errno == 28, "\(error)")
        #expect(acknowledged.count > 20)
        #expect(try store.entries(in: 1..<(UInt64(acknowledged.count) + 1)) == acknowledged, "still readable")
        #expect((try? store.save(hardState: .empty, entries: Self.entries(UInt64(acknowledged.count + 1)...UInt64(acknowledged.count + 1))))  == nil)
        try? store.close()

        // Still full: the log must open (to be read, and to serve raft) without new space.
        let reopened = try open()
        try expectHolds(reopened, acknowledged, unacknowledged: failed)
        try? reopened.close()
        fs.crash(.dropUnsynced)

        fs.capacity = nil
        let roomy = try open()
        try expectHolds(roomy, acknowledged, unacknowledged: failed)
        let next = try roomy.lastIndex() + 1
        try roomy.save(hardState: HardState(term: 1, vote: 1, commit: next), entries: Self.entries(next...(next + 50)))
        try roomy.close()
    }

    @Test("a full disk while preallocating the next segment leaves the log consistent and reopenable")
    func diskFullOnPreallocation() throws {
        let store = try open()
        fs.inject(FaultInjectingFileSystem.Fault(.preallocate, errno: 28, times: 1_000))
        let (acknowledged, _, failure) = Self.saveUntilFailure(store, rounds: 40)
        // The spare segment was preallocated when the WAL was created; the next one is not.
        let error = try #require(failure, "preallocation was never needed")
        #expect(error.errno == 28, "\(error)")
        try? store.close()
        fs.crash(.dropUnsynced)
        let reopened = try open()
        #expect(try reopened.lastIndex() >= UInt64(acknowledged.count))
        #expect(try reopened.entries(in: 1..<(UInt64(acknowledged.count) + 1)) == acknowledged)
        try? reopened.close()
        fs.removeFaults()
        let roomy = try open()
        let next = try roomy.lastIndex() + 1
        try roomy.save(hardState: .empty, entries: Self.entries(next...(next + 60)))
        try roomy.close()
    }

    @Test("a read error while opening is reported, not trapped, and a later open succeeds")
    func readErrorOnOpen() throws {
        let store = try open()
        try store.save(hardState: HardState(term: 1, vote: 1, commit: 3), entries: Self.entries(1...30))
        try store.close()
        fs.inject(.readFails(pathContains: ".wal"))
        let error = #expect(throws: StorageError.self) { try open() }
        #expect(error?.errno == 5)
        let reopened = try open()
        try expectHolds(reopened, Self.entries(1...30))
        try reopened.close()
    }
}
