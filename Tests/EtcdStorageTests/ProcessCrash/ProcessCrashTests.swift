import EtcdStorage
import Foundation
import LZ4Snapshots
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import TestSupport
import Testing

/// Real process crashes: a `CrashWorker` child appends durably through the WAL and reports each
/// acknowledged batch on a pipe; the test kills it with SIGKILL at a random moment (while it
/// creates, opens, repairs, appends, cuts, snapshots or purges), opens the WAL itself, checks
/// every acknowledged entry is there, and starts the next child on the same directory.
///
/// 200 kills of the WAL worker and 100 of each Storage worker by default;
/// `RAFTSTORE_CRASH_ITERATIONS=<n>` runs n (and n/2) instead.
@Suite("Process crashes (SIGKILL)")
struct ProcessCrashTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["RAFTSTORE_CRASH_ITERATIONS"].flatMap(Int.init) ?? 200
    }

    /// The worker's options: small segments, so cuts, spares and purges happen between kills.
    static let options = WALLogStore<ProtobufRecordCodec>.Options(
        wal: WALOptions(segmentSize: 128 * 1024, logger: Logger(label: "crash-test", factory: { _ in SwiftLogNoOpLogHandler() })),
        retainedSegments: 4)

    /// What the worker acknowledged, over all its lives.
    struct Acknowledged {
        var terms: [UInt64: UInt64] = [:]
        var last: UInt64 = 0
        var snapshots: Set<UInt64> = [0]
        var batches = 0
    }

    @Test("SIGKILL at random moments never loses an acknowledged entry, and the log continues")
    func killedAppenders() throws {
        let worker = ChildProcess.crashWorker
        try #require(FileManager.default.isExecutableFile(atPath: worker), "CrashWorker is not built at \(worker): run `swift build --build-tests`")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("member/wal")
        var random = SeededGenerator(seed: UInt64(ProcessInfo.processInfo.environment["RAFTSTORE_CRASH_SEED"].flatMap(UInt64.init) ?? 7))
        var acknowledged = Acknowledged()
        var verifiedLast: UInt64?
        var repairs = 0
        let iterations = Self.iterations
        for iteration in 1...iterations {
            let term = UInt64(iteration)
            let child = try ChildProcess(worker, ["append", path, "\(random.next())", "\(term)"])
            let lines = child.runUntilKilled(random: &random)
            for line in lines {
                let fields = line.split(separator: " ")
                switch fields.first {
                case "open":
                    let opened = UInt64(fields[1])!
                    if let verifiedLast { #expect(opened == verifiedLast, "kill \(iteration): the worker opened at \(opened), the check before saw \(verifiedLast)") }
                case "ack":
                    let first = UInt64(fields[1])!, last = UInt64(fields[2])!, batchTerm = UInt64(fields[3])!
                    for index in first...last { acknowledged.terms[index] = batchTerm }
                    acknowledged.last = max(acknowledged.last, last)
                    acknowledged.batches += 1
                case "snap":
                    acknowledged.snapshots.insert(UInt64(fields[1])!)
                default:
                    Issue.record("kill \(iteration): unexpected worker output '\(line)'")
                }
            }
            let store = try WALLogStore.open(at: path, options: Self.options)
            if store.repair != nil { repairs += 1 }
            verifiedLast = try check(store, acknowledged, kill: iteration)
            try store.close()
        }
        #expect(acknowledged.batches > iterations / 2, "the worker acknowledged only \(acknowledged.batches) batches in \(iterations) lives")
        print("[process-crashes] WAL: \(iterations) SIGKILLs, \(acknowledged.batches) acknowledged batches, \(acknowledged.last) entries, \(acknowledged.snapshots.count - 1) snapshots, \(repairs) torn tails repaired, nothing lost")
    }

    /// Checks the reopened log against what was acknowledged; returns its last index.
    func check(_ store: WALLogStore<ProtobufRecordCodec>, _ acknowledged: Acknowledged, kill: Int) throws -> UInt64 {
        let first = try store.firstIndex(), last = try store.lastIndex()
        #expect(last >= acknowledged.last, "kill \(kill): lastIndex \(last) lost acknowledged entries through \(acknowledged.last)")
        // The log starts at its newest committed snapshot marker: at or after every acknowledged
        // one (a later, unacknowledged marker may have reached the disk too).
        let newestSnapshot = acknowledged.snapshots.max() ?? 0
        #expect(first - 1 >= newestSnapshot, "kill \(kill): the log starts at \(first), before the acknowledged snapshot \(newestSnapshot)")
        #expect(first - 1 <= last, "kill \(kill): the log starts after its end")
        guard first <= last else { return last }
        for entry in try store.entries(in: first..<(last + 1)) {
            if let term = acknowledged.terms[entry.index] {
                #expect(entry.term == term, "kill \(kill): entry \(entry.index) has term \(entry.term), acknowledged with \(term)")
            }
            #expect(entry.data ?? [] == crashWorkerPayload(index: entry.index, term: entry.term), "kill \(kill): entry \(entry.index) holds bytes never written")
        }
        let state = try store.hardState()
        #expect(state.term >= (acknowledged.terms[acknowledged.last] ?? 0), "kill \(kill): HardState \(state) is behind the acknowledged term")
        #expect(state.commit <= last)
        return last
    }

    @Test("Storage (WAL + each snapshot store): SIGKILLs never lose an acknowledged entry or snapshot", arguments: ["etcd", "lz4"])
    func killedStorage(snapshots kind: String) throws {
        let worker = ChildProcess.crashWorker
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("member")
        var random = SeededGenerator(seed: kind == "lz4" ? 17 : 13)
        var acknowledged = Acknowledged()
        var verifiedLast: UInt64?
        let iterations = max(1, Self.iterations / 2)
        for iteration in 1...iterations {
            let child = try ChildProcess(worker, ["storage", path, "\(random.next())", "\(iteration)", kind])
            let lines = child.runUntilKilled(random: &random)
            for line in lines {
                let fields = line.split(separator: " ")
                switch fields.first {
                case "open":
                    if let verifiedLast { #expect(UInt64(fields[1]) == verifiedLast, "kill \(iteration): the worker opened at \(fields[1]), the check saw \(verifiedLast)") }
                case "ack":
                    let first = UInt64(fields[1])!, last = UInt64(fields[2])!, term = UInt64(fields[3])!
                    for index in first...last { acknowledged.terms[index] = term }
                    acknowledged.last = max(acknowledged.last, last)
                    acknowledged.batches += 1
                case "snap": acknowledged.snapshots.insert(UInt64(fields[1])!)
                default: Issue.record("kill \(iteration): unexpected worker output '\(line)'")
                }
            }
            let storage = try Self.openStorage(path, kind)
            let snapshot = storage.snapshotMetadata.index
            #expect(snapshot >= acknowledged.snapshots.max() ?? 0, "kill \(iteration): recovered snapshot \(snapshot) is older than an acknowledged one")
            if snapshot > 0 {
                #expect(try storage.snapshot().data == crashWorkerPayload(index: snapshot, term: 0), "kill \(iteration): snapshot \(snapshot) holds other data")
            }
            let last = try storage.lastIndex()
            #expect(last >= acknowledged.last, "kill \(iteration): lastIndex \(last) lost acknowledged entries through \(acknowledged.last)")
            if last > snapshot {
                for entry in try storage.entries(in: (snapshot + 1)..<(last + 1)) {
                    if let term = acknowledged.terms[entry.index] { #expect(entry.term == term, "kill \(iteration): entry \(entry.index) has term \(entry.term), acknowledged \(term)") }
                    #expect(entry.data ?? [] == crashWorkerPayload(index: entry.index, term: entry.term), "kill \(iteration): entry \(entry.index) holds bytes never written")
                }
            }
            let state = try storage.initialState().hardState
            #expect(state.commit >= snapshot && state.commit <= last)
            verifiedLast = last
            try storage.close()
        }
        #expect(acknowledged.batches > iterations / 2, "the worker acknowledged only \(acknowledged.batches) Readies in \(iterations) lives")
        print("[process-crashes] Storage(WAL + \(kind) snapshots): \(iterations) SIGKILLs, \(acknowledged.batches) acknowledged Readies, \(acknowledged.last) entries, \(acknowledged.snapshots.count - 1) snapshots, nothing lost")
    }

    static func openStorage(_ directory: String, _ kind: String) throws -> Storage<AnyLogStore, AnySnapshotStore> {
        let quiet = Logger(label: "crash-test", factory: { _ in SwiftLogNoOpLogHandler() })
        let log = try WALLogStore.open(at: directory + "/wal", options: options)
        let snapshots: any SnapshotStore = kind == "lz4"
            ? try LZ4SnapshotStore(directory: directory + "/snap", codec: ProtobufRecordCodec(), logger: quiet)
            : try EtcdSnapshotStore(directory: directory + "/snap", logger: quiet)
        return try Storage(log: AnyLogStore(log), snapshots: AnySnapshotStore(snapshots), options: .init(retainedEntries: 20, retainedSnapshots: 2))
    }

    @Test("a second process opening the WAL for writing gets .locked, in both directions")
    func secondProcessIsLocked() throws {
        let worker = ChildProcess.crashWorker
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        try WALLogStore.open(at: path, options: Self.options).close()

        // The child holds it: this process is refused.
        let holder = try ChildProcess(worker, ["hold", path])
        #expect(holder.readLine(until: .now + .seconds(30)) == "holding")
        let refused = #expect(throws: StorageError.self) { try WALLogStore.open(at: path, options: Self.options) }
        #expect(refused?.code == .locked)
        holder.closeInput()
        #expect(holder.wait().status == 0)
        try WALLogStore.open(at: path, options: Self.options).close()

        // This process holds it: the child is refused, and succeeds once it is closed.
        let held = try WALLogStore.open(at: path, options: Self.options)
        let second = try ChildProcess(worker, ["try-open", path])
        #expect(second.readLine(until: .now + .seconds(30)) == "locked")
        #expect(second.wait().status == 0)
        try held.close()
        let third = try ChildProcess(worker, ["try-open", path])
        #expect(third.readLine(until: .now + .seconds(30)) == "opened")
        #expect(third.wait().status == 0)
    }
}
