public import RaftStorage

/// Crash-point enumeration for durable ``RaftStorage/LogStore``s: runs a workload, crashes the
/// file system after every one of its operations in turn (and with each
/// ``FaultInjectingFileSystem/CrashOutcome``; a scramble's seed is varied by the crash point),
/// reopens the store, and checks that everything acknowledged as durable is there, nothing
/// appears that was never written, the HardState never goes backwards, and the log continues.
///
/// ```swift
/// let crashes = LogCrashConsistency(open: { fs in
///     try WALLogStore.open(at: "/wal", options: .init(wal: WALOptions(fileSystem: fs, segmentSize: 4096)))
/// })
/// @Test(arguments: LogCrashConsistency<WALLogStore<ProtobufRecordCodec>>.workloads)
/// func crashes(_ workload: LogCrashConsistency<WALLogStore<ProtobufRecordCodec>>.Workload) throws {
///     try crashes.check(workload)        // a power failure after every file-system call
///     try crashes.checkFaults(workload)  // every fsync, write and preallocation failing in turn
/// }
/// ```
///
/// `open` must create the store when the file system holds none, and open (repairing if it
/// must) the one it holds otherwise - which is what a node does on every start.
///
/// `check` and `checkFaults` report each problem through ``ConformanceReporting``: as an issue of
/// the running Swift Testing test, at the line that called them. From XCTest, call them inside
/// ``ConformanceReporting/withReporter(_:_:)`` with a reporter that calls `XCTFail`
/// (`withReporter({ issue in XCTFail("\(issue)") }) { ... }`); `explore` and `exploreFaults` return
/// the problems instead.
public struct LogCrashConsistency<Store: LogStore>: Sendable {
    /// Creates the store on an empty file system, or opens (recovers) the one it holds.
    public let open: @Sendable (FaultInjectingFileSystem) throws -> Store

    /// A checker for the stores `open` creates or opens.
    public init(open: @escaping @Sendable (FaultInjectingFileSystem) throws -> Store) {
        self.open = open
    }

    /// A named sequence of steps.
    public typealias Workload = CrashWorkload<LogCrashStep>

    /// What a check covered.
    public typealias Report = CrashConsistencyReport

    /// Enumerates every crash point of `workload` with each of `outcomes`, recording an issue for
    /// every problem found.
    @discardableResult
    public func check(
        _ workload: Workload,
        outcomes: [FaultInjectingFileSystem.CrashOutcome] = defaultOutcomes,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> Report {
        ConformanceReporting.recording(
            try explore(workload, outcomes: outcomes),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    /// The crash outcomes tried at each crash point by default: unsynced writes dropped, kept,
    /// torn at 512 bytes and at 4 KiB, and scrambled.
    public static var defaultOutcomes: [FaultInjectingFileSystem.CrashOutcome] {
        FaultInjectingFileSystem.CrashOutcome.standard
    }

    /// Enumerates every crash point of `workload` with each of `outcomes` and returns what it
    /// covered and every problem found, one line each.
    public func explore(_ workload: Workload, outcomes: [FaultInjectingFileSystem.CrashOutcome] = defaultOutcomes) throws -> (Report, [String]) {
        try engine.explore(workload.name, workload.steps, outcomes: outcomes)
    }

    var engine: CrashEngine<LogModel<Store>> {
        let open = self.open
        return CrashEngine(
            open: open,
            close: { try $0.close() },
            perform: { step, store, _ in try step.run(on: store) },
            alreadyDone: { error in
                // Out of date or compacted: it had reached the disk before the failure.
                guard let error = error as? StorageError else { return false }
                return error.code == .snapshotOutOfDate || error.code == .compacted
            },
            continues: { store, fs in Self.continues(store, reopening: { try open(fs) }) })
    }

    /// The recovered log takes a new entry, durably; returns the problem when it does not.
    static func continues(_ store: Store, reopening: () throws -> Store) -> String? {
        do {
            let next = try store.lastIndex() + 1
            let term = max(try store.hardState().term, try store.term(at: next - 1), 1)
            let entry = Entry(term: term, index: next, data: Array("after crash".utf8))
            try store.append([entry])
            try store.close()
            let reopened = try reopening()
            defer { try? reopened.close() }
            return try reopened.entries(in: next..<(next + 1)) == [entry] ? nil : "an entry appended after recovery was not kept"
        } catch {
            return "the recovered log does not continue: \(error)"
        }
    }

    /// The standard workloads: appends with and without sync, HardState changes, tail
    /// truncation, snapshot markers, compaction with segment release, restarts, a power failure
    /// that tears a batch (so the next open repairs it), votes cast in new terms, and enough data
    /// to cut segments when the backend under test uses small ones (a few KiB).
    ///
    /// Every HardState sequence is one raft can write: terms never decrease, a vote once cast
    /// stays within its term, and commit never passes the last index.
    public static var workloads: [Workload] {
        let payload = { (index: UInt64, term: UInt64) in Entry(term: term, index: index, data: Array(repeating: UInt8(truncatingIfNeeded: index), count: 300)) }
        let batch = { (range: ClosedRange<UInt64>, term: UInt64) in range.map { payload($0, term) } }
        let batches = { (first: Int, count: Int) in
            (first..<(first + count)).map { round -> LogCrashStep in
                let start = UInt64(round * 10 + 1)
                return .save(HardState(term: 1, vote: 1, commit: start - 1), batch(start...(start + 9), 1))
            }
        }
        return [
            Workload(name: "appends", steps: [
                .save(HardState(term: 1, vote: 1, commit: 0), batch(1...3, 1)),
                .save(HardState(term: 1, vote: 1, commit: 2), batch(4...5, 1)),
                .save(.empty, batch(6...6, 1)),
            ]),
            Workload(name: "HardState changes with and without sync", steps: [
                .save(HardState(term: 1, vote: 1, commit: 0), batch(1...4, 1)),
                .save(HardState(term: 1, vote: 1, commit: 3), []),
                .sync,
                .save(HardState(term: 2, vote: 2, commit: 3), []),
                .save(HardState(term: 2, vote: 2, commit: 4), []),
            ]),
            Workload(name: "tail truncation", steps: [
                .save(HardState(term: 1, vote: 1, commit: 2), batch(1...6, 1)),
                .save(HardState(term: 2, vote: 2, commit: 2), batch(4...5, 2)),
                .save(HardState(term: 3, vote: 3, commit: 3), batch(3...7, 3)),
            ]),
            Workload(name: "snapshot markers and compaction", steps: [
                .save(HardState(term: 1, vote: 1, commit: 8), batch(1...10, 1)),
                .recordSnapshot(SnapshotMetadata(index: 6, term: 1)),
                .compact(4),
                .save(HardState(term: 1, vote: 1, commit: 10), batch(11...12, 1)),
            ]),
            Workload(name: "installing a leader snapshot", steps: [
                .save(HardState(term: 1, vote: 1, commit: 2), batch(1...4, 1)),
                .applySnapshot(SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 20, term: 3)),
                .save(HardState(term: 3, vote: 0, commit: 20), batch(21...22, 3)),
            ]),
            Workload(name: "many batches", steps: batches(0, 12)),
            Workload(name: "a segment cut inside one large batch", steps: [
                .save(HardState(term: 1, vote: 1, commit: 0), batch(1...2, 1)),
                .save(HardState(term: 1, vote: 1, commit: 2), batch(3...40, 1)),
                .save(HardState(term: 1, vote: 1, commit: 40), batch(41...42, 1)),
            ]),
            Workload(name: "compaction and segment release", steps: batches(0, 4) + [
                .save(HardState(term: 1, vote: 1, commit: 40), []),
                .sync,
                .recordSnapshot(SnapshotMetadata(index: 30, term: 1)),
                .compact(25),
            ] + batches(4, 4) + [
                .save(HardState(term: 1, vote: 1, commit: 80), []),
                .recordSnapshot(SnapshotMetadata(index: 70, term: 1)),
                .compact(65),
                .sync,
                .save(HardState(term: 1, vote: 1, commit: 80), batch(81...82, 1)),
            ]),
            Workload(name: "restarts", steps: [
                .save(HardState(term: 1, vote: 1, commit: 0), batch(1...5, 1)),
                .save(HardState(term: 1, vote: 1, commit: 3), []),
                .restart,
                .save(HardState(term: 2, vote: 1, commit: 5), batch(6...8, 2)),
                .recordSnapshot(SnapshotMetadata(index: 5, term: 1)),
                .restart,
                .save(HardState(term: 2, vote: 1, commit: 8), batch(9...9, 2)),
            ]),
            Workload(name: "a torn batch repaired on the next open", steps: [
                .save(HardState(term: 1, vote: 1, commit: 0), batch(1...5, 1)),
                .interrupted(.save(HardState(term: 1, vote: 1, commit: 5), batch(6...35, 1)), afterOperations: 1, outcome: .tearLastWrite(sectorSize: 512)),
                .save(HardState(term: 2, vote: 2, commit: 5), batch(6...10, 2)),
                .interrupted(.save(HardState(term: 2, vote: 2, commit: 8), batch(11...40, 2)), afterOperations: 1, outcome: .tearLastWrite(sectorSize: 4096)),
                .save(HardState(term: 3, vote: 3, commit: 8), batch(11...12, 3)),
            ]),
            // Each term starts without a vote (durable: term changed), then casts one (durable:
            // vote changed); a recovered state in that term must keep exactly that vote.
            Workload(name: "votes: a new term, then a vote in it", steps: [
                .save(HardState(term: 1, vote: 0, commit: 0), []),
                .save(HardState(term: 1, vote: 1, commit: 0), batch(1...3, 1)),
                .save(HardState(term: 2, vote: 0, commit: 2), []),
                .save(HardState(term: 2, vote: 3, commit: 2), []),
                .save(HardState(term: 2, vote: 3, commit: 3), []),
                .save(HardState(term: 3, vote: 0, commit: 3), []),
                .save(HardState(term: 3, vote: 2, commit: 3), batch(4...5, 3)),
                .restart,
                .save(HardState(term: 4, vote: 0, commit: 5), []),
                // The vote reaches the disk but the power fails before it is acknowledged: the
                // node goes on with whatever it recovers, and votes the same way again.
                .interrupted(.save(HardState(term: 4, vote: 4, commit: 5), []), afterOperations: 1, outcome: .keepUnsynced),
                .save(HardState(term: 4, vote: 4, commit: 5), batch(6...6, 4)),
            ]),
        ]
    }
}
