public import RaftStorage

/// Crash-point enumeration for ``RaftStorage/Storage`` as a whole (a durable log store and a
/// durable snapshot store composed): runs a raft-like workload - Ready batches, local snapshots
/// with compaction, a snapshot installed from a leader, restarts - crashes the file system after
/// every one of its operations in turn (with each ``FaultInjectingFileSystem/CrashOutcome``),
/// and checks that recovery opens, the HardState never goes backwards, the snapshot recovered is
/// at least the newest acknowledged one and loads with its data, every acknowledged entry after
/// it is there, nothing appears that was never written, and the storage takes new entries.
///
/// ```swift
/// let crashes = StorageCrashConsistency(open: { fs in
///     try fs.createDirectory("/data", permissions: 0o700)
///     try fs.syncDirectory("/")
///     return try Storage(
///         log: WALLogStore.open(at: "/data/wal", options: .init(wal: WALOptions(fileSystem: fs, segmentSize: 4096))),
///         snapshots: EtcdSnapshotStore(directory: "/data/snap", fileSystem: fs),
///         options: .init(retainedEntries: 2, retainedSnapshots: 2))
/// })
/// @Test(arguments: StorageCrashConsistency<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>.workloads)
/// func crashes(_ workload: StorageCrashConsistency<WALLogStore<ProtobufRecordCodec>, EtcdSnapshotStore>.Workload) throws {
///     try crashes.check(workload)
/// }
/// ```
///
/// `open` must create the storage on an empty file system (including any parent directory the
/// stores expect, durably) and recover it otherwise - what a node does on every start.
///
/// `check` and `checkFaults` report each problem through ``ConformanceReporting``: as an issue of
/// the running Swift Testing test, at the line that called them. From XCTest, call them inside
/// ``ConformanceReporting/withReporter(_:_:)`` with a reporter that calls `XCTFail`
/// (`withReporter({ issue in XCTFail("\(issue)") }) { ... }`); `explore` returns the problems
/// instead.
public struct StorageCrashConsistency<Log: LogStore, Snapshots: SnapshotStore>: Sendable {
    /// Creates the storage on an empty file system, or recovers the one it holds.
    public let open: @Sendable (FaultInjectingFileSystem) throws -> Storage<Log, Snapshots>

    /// A checker for the storage `open` creates or recovers.
    public init(open: @escaping @Sendable (FaultInjectingFileSystem) throws -> Storage<Log, Snapshots>) {
        self.open = open
    }

    /// A named sequence of steps.
    public typealias Workload = CrashWorkload<StorageCrashStep>

    /// Enumerates every crash point of `workload` with each of `outcomes`, recording an issue for
    /// every problem found.
    @discardableResult
    public func check(
        _ workload: Workload,
        outcomes: [FaultInjectingFileSystem.CrashOutcome] = FaultInjectingFileSystem.CrashOutcome.standard,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> CrashConsistencyReport {
        ConformanceReporting.recording(
            try explore(workload, outcomes: outcomes),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    /// ``check(_:outcomes:fileID:filePath:line:column:)`` returning the problems, one line each.
    public func explore(
        _ workload: Workload, outcomes: [FaultInjectingFileSystem.CrashOutcome] = FaultInjectingFileSystem.CrashOutcome.standard
    ) throws -> (CrashConsistencyReport, [String]) {
        try engine.explore(workload.name, workload.steps, outcomes: outcomes)
    }

    /// Fault enumeration (see ``LogCrashConsistency/checkFaults(_:faults:fileID:filePath:line:column:)``):
    /// each fsync, write and preallocation failing in turn; the storage is reopened, the step
    /// retried, and after a final power failure nothing acknowledged may be missing.
    @discardableResult
    public func checkFaults(
        _ workload: Workload,
        faults: [FaultInjectingFileSystem.Fault] = FaultInjectingFileSystem.Fault.standard,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> FaultConsistencyReport {
        ConformanceReporting.recording(
            try engine.exploreFaults(workload.name, workload.steps, faults: faults),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    private var engine: CrashEngine<StorageModel<Log, Snapshots>> {
        let open = self.open
        return CrashEngine(
            open: open,
            close: { try $0.close() },
            perform: { step, storage, _ in try step.run(on: storage) },
            alreadyDone: { error in
                guard let error = error as? StorageError else { return false }
                return error.code == .snapshotOutOfDate || error.code == .compacted
            },
            continues: { storage, fs in Self.continues(storage, reopening: { try open(fs) }) })
    }

    /// The recovered storage takes a new entry, durably; returns the problem when it does not.
    static func continues(_ storage: Storage<Log, Snapshots>, reopening: () throws -> Storage<Log, Snapshots>) -> String? {
        do {
            let state = try storage.initialState().hardState
            let next = try storage.lastIndex() + 1
            let term = max(state.term, try storage.term(at: next - 1), 1)
            let entry = Entry(term: term, index: next, data: Array("after crash".utf8))
            // A vote belongs to its term: a later term starts without one.
            let vote = term == state.term ? state.vote : 0
            try storage.save(hardState: HardState(term: term, vote: vote, commit: state.commit), entries: [entry])
            try storage.close()
            let reopened = try reopening()
            defer { try? reopened.close() }
            return try reopened.entries(in: next..<(next + 1)) == [entry] ? nil : "an entry saved after recovery was not kept"
        } catch {
            return "the recovered storage does not continue: \(error)"
        }
    }

    /// The standard workloads, for storage opened with few retained entries and snapshots (say
    /// 2 and 2) and a log with small segments: Ready batches with commit following, local
    /// snapshots with compaction, a leader's snapshot installed, commit-only HardStates,
    /// restarts, a power failure tearing a batch, and votes cast in new terms. Every HardState
    /// sequence is one raft can write (terms never decrease, a vote once cast stays within its
    /// term, commit never passes the last index).
    public static var workloads: [Workload] {
        let entry = { (index: UInt64, term: UInt64) in Entry(term: term, index: index, data: Array(repeating: UInt8(truncatingIfNeeded: index &* 7), count: 300)) }
        let ready = { (range: ClosedRange<UInt64>, term: UInt64, commit: UInt64) in
            StorageCrashStep.ready(HardState(term: term, vote: 1, commit: commit), range.map { entry($0, term) }, snapshot: nil)
        }
        let state = { (index: UInt64, size: Int) in (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(index)) } }
        return [
            Workload(name: "local snapshots and compaction", steps: [
                ready(1...4, 1, 0), ready(5...8, 1, 4),
                .createSnapshot(at: 4, data: state(4, 2_000)),
                ready(9...12, 1, 8), ready(13...16, 1, 12),
                .createSnapshot(at: 12, data: state(12, 40_000)),
                ready(17...20, 1, 16),
                .createSnapshot(at: 16, data: state(16, 3_000)),
                ready(21...22, 1, 20),
            ]),
            Workload(name: "a leader's snapshot installed", steps: [
                ready(1...5, 1, 0), ready(6...8, 1, 5),
                .ready(
                    HardState(term: 2, vote: 0, commit: 30), [],
                    snapshot: Snapshot(data: state(30, 20_000), metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 30, term: 2))),
                ready(31...33, 2, 32),
                .createSnapshot(at: 32, data: state(32, 1_000)),
                ready(34...35, 2, 33),
            ]),
            Workload(name: "commit-only HardStates and syncs", steps: [
                // The snapshot is at a commit made durable with entries: commit-only changes may
                // be lost to a fault (raft learns the commit again), and the workload goes on.
                ready(1...6, 1, 0), ready(7...7, 1, 5),
                .ready(HardState(term: 1, vote: 1, commit: 6), [], snapshot: nil),
                .ready(HardState(term: 1, vote: 1, commit: 7), [], snapshot: nil),
                .sync,
                .createSnapshot(at: 5, data: state(5, 500)),
                .ready(HardState(term: 2, vote: 2, commit: 7), [], snapshot: nil),
            ]),
            Workload(name: "restarts", steps: [
                ready(1...6, 1, 0), ready(7...8, 1, 6),
                .createSnapshot(at: 6, data: state(6, 5_000)),
                .restart,
                ready(9...12, 2, 10),
                .restart,
                .createSnapshot(at: 10, data: state(10, 5_000)),
                ready(13...14, 2, 12),
            ]),
            Workload(name: "a torn batch repaired on the next open", steps: [
                ready(1...4, 1, 3),
                .createSnapshot(at: 2, data: state(2, 1_000)),
                .interrupted(ready(5...34, 1, 4), afterOperations: 1, outcome: .tearLastWrite(sectorSize: 512)),
                ready(5...8, 2, 7),
                .createSnapshot(at: 6, data: state(6, 1_000)),
            ]),
            // Each term starts without a vote, then casts one; a recovered state in that term
            // must keep exactly that vote. Snapshots are at commits saved with entries (durable).
            Workload(name: "votes: a new term, then a vote in it", steps: [
                .ready(HardState(term: 1, vote: 0, commit: 0), [], snapshot: nil),
                .ready(HardState(term: 1, vote: 1, commit: 3), (1...4).map { entry($0, 1) }, snapshot: nil),
                .createSnapshot(at: 3, data: state(3, 1_000)),
                .ready(HardState(term: 2, vote: 0, commit: 4), [], snapshot: nil),
                .ready(HardState(term: 2, vote: 3, commit: 4), [], snapshot: nil),
                .restart,
                .ready(HardState(term: 3, vote: 0, commit: 4), [], snapshot: nil),
                // The vote reaches the disk but the power fails before it is acknowledged: the
                // node goes on with whatever it recovers, and votes the same way again.
                .interrupted(.ready(HardState(term: 3, vote: 2, commit: 4), [], snapshot: nil), afterOperations: 1, outcome: .keepUnsynced),
                .ready(HardState(term: 3, vote: 2, commit: 6), (5...7).map { entry($0, 3) }, snapshot: nil),
                .createSnapshot(at: 6, data: state(6, 1_000)),
            ]),
        ]
    }
}

/// One step of a crash-consistency workload for a ``RaftStorage/Storage``.
public indirect enum StorageCrashStep: Sendable, Hashable, CustomStringConvertible {
    /// `Storage.save(hardState:entries:snapshot:)`: one Ready.
    case ready(HardState, [Entry], snapshot: Snapshot?)
    /// `Storage.createSnapshot(at:confState:data:)`, which compacts behind it.
    case createSnapshot(at: UInt64, data: [UInt8])
    /// `Storage.sync()`.
    case sync
    /// Closes the storage cleanly and opens it again.
    case restart
    /// Runs a step, but the power fails after at most `afterOperations` of its file-system
    /// operations, with `outcome`; the storage is then recovered, checked, and the workload goes
    /// on.
    case interrupted(StorageCrashStep, afterOperations: Int, outcome: FaultInjectingFileSystem.CrashOutcome)

    func run<Log, Snapshots>(on storage: Storage<Log, Snapshots>) throws(StorageError) {
        switch self {
        case .ready(let hardState, let entries, let snapshot): try storage.save(hardState: hardState, entries: entries, snapshot: snapshot)
        case .createSnapshot(let index, let data): try storage.createSnapshot(at: index, data: data)
        case .sync: try storage.sync()
        case .restart: try storage.close()
        case .interrupted(let step, _, _): try step.run(on: storage)
        }
    }

    public var description: String {
        switch self {
        case .ready(let hardState, let entries, let snapshot):
            "ready(\(hardState), \(entries.first.map { "entries \($0.index)...\(entries.last!.index) term \($0.term)" } ?? "no entries")"
                + (snapshot.map { ", snapshot \($0.metadata.marker)" } ?? "") + ")"
        case .createSnapshot(let index, let data): "createSnapshot(at: \(index), \(data.count) bytes)"
        case .sync: "sync"
        case .restart: "restart"
        case .interrupted(let step, let count, let outcome): "\(step) interrupted after \(count) operations (\(outcome))"
        }
    }
}

extension StorageCrashStep: CrashWorkloadStep {
    var isRestart: Bool { self == .restart }

    var interruption: (step: StorageCrashStep, afterOperations: Int, outcome: FaultInjectingFileSystem.CrashOutcome)? {
        guard case .interrupted(let step, let count, let outcome) = self else { return nil }
        return (step, count, outcome)
    }
}
