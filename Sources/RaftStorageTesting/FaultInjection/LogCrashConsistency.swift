public import RaftStorage
public import Testing

/// Crash-point enumeration for durable ``RaftStorage/LogStore``s: runs a workload, crashes the
/// file system after every one of its operations in turn (and with each
/// ``FaultInjectingFileSystem/CrashOutcome``; a scramble's seed is varied by the crash point),
/// reopens the store, and checks that everything acknowledged as durable is there, nothing
/// appears that was never written, the HardState never goes backwards, and the log continues.
///
/// ```swift
/// let crashes = LogCrashConsistency(open: { fs in try WALLogStore.open(at: "/wal", options: .init(fileSystem: fs)) })
/// @Test(arguments: LogCrashConsistency<WALLogStore>.workloads)
/// func crashes(_ workload: LogCrashConsistency<WALLogStore>.Workload) throws {
///     try crashes.check(workload)
/// }
/// ```
///
/// `open` must create the store when the file system holds none, and open (repairing if it
/// must) the one it holds otherwise - which is what a node does on every start.
public struct LogCrashConsistency<Store: LogStore>: Sendable {
    public let open: @Sendable (FaultInjectingFileSystem) throws -> Store

    public init(open: @escaping @Sendable (FaultInjectingFileSystem) throws -> Store) {
        self.open = open
    }

    /// A named sequence of steps.
    public struct Workload: Sendable, CustomTestStringConvertible, CustomStringConvertible {
        public let name: String
        public let steps: [LogCrashStep]

        public init(name: String, steps: [LogCrashStep]) {
            self.name = name
            self.steps = steps
        }

        public var testDescription: String { name }
        public var description: String { name }
    }

    /// What a check covered.
    public struct Report: Sendable, Hashable {
        /// Mutating file-system operations in one full run of the workload (store creation included).
        public var operations = 0
        /// Crash points times outcomes tried, each followed by a recovery.
        public var crashesRecovered = 0
    }

    /// Enumerates every crash point of `workload` with each of `outcomes`, recording an issue for
    /// every problem found.
    @discardableResult
    public func check(
        _ workload: Workload,
        outcomes: [FaultInjectingFileSystem.CrashOutcome] = defaultOutcomes,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Report {
        let (report, problems) = try explore(workload, outcomes: outcomes)
        for problem in problems { Issue.record(Comment(rawValue: problem), sourceLocation: sourceLocation) }
        return report
    }

    /// The crash outcomes tried at each crash point by default.
    public static var defaultOutcomes: [FaultInjectingFileSystem.CrashOutcome] {
        [.dropUnsynced, .keepUnsynced, .tearLastWrite(sectorSize: 512), .tearLastWrite(sectorSize: 4096), .scramble(seed: 1)]
    }

    /// Enumerates every crash point of `workload` with each of `outcomes` and returns what it
    /// covered and every problem found, one line each.
    public func explore(_ workload: Workload, outcomes: [FaultInjectingFileSystem.CrashOutcome] = defaultOutcomes) throws -> (Report, [String]) {
        let total = try countOperations(workload)
        var report = Report(operations: total)
        var problems: [String] = []
        for point in 1...max(1, total) {
            for outcome in outcomes {
                problems += try crash(workload, after: point, outcome: outcome)
                report.crashesRecovered += 1
            }
        }
        return (report, problems)
    }

    private func countOperations(_ workload: Workload) throws -> Int {
        let fs = FaultInjectingFileSystem()
        var model = LogCrashModel()
        let run = try self.run(workload, on: fs, crashPoint: nil, model: &model)
        if let problem = run.problems.first { throw CrashConsistencyFailure("\(workload.name), without a crash: \(problem)") }
        try run.store?.close()
        return fs.statistics.mutatingOperations
    }

    private func crash(_ workload: Workload, after point: Int, outcome: FaultInjectingFileSystem.CrashOutcome) throws -> [String] {
        let fs = FaultInjectingFileSystem()
        let context = "\(workload.name), crash after operation \(point), \(outcome)"
        var model = LogCrashModel()
        let run = try self.run(workload, on: fs, crashPoint: point, model: &model)
        guard run.problems.isEmpty else { return run.problems.map { "\(context): \($0)" } }
        fs.crash(outcome.varied(by: point))
        let recovered: Store
        do {
            recovered = try open(fs)
        } catch {
            return ["\(context): the store does not open after the crash: \(error)"]
        }
        let during = run.pending.map(String.init(describing:)) ?? "no step"
        var problems = try model.problems(recovered: recovered, pending: run.pending).map { "\(context), during \(during): \($0)" }
        if let failure = continues(recovered, fs: fs) { problems.append("\(context): \(failure)") }
        return problems
    }

    struct Run {
        /// The open store, when the run ended without reaching the crash point.
        var store: Store?
        /// The step the crash point interrupted.
        var pending: LogCrashStep?
        var problems: [String] = []
    }

    /// Runs `workload`, stopping at the file system's `crashPoint`-th mutating operation (when
    /// given), and keeps `model` up to date with what the store acknowledged.
    ///
    /// With `fault`, the fault is injected first and a step (or open) that fails is answered as
    /// a node would: the store is closed and opened again, checked against what was
    /// acknowledged, and the step is tried again before the workload goes on.
    func run(
        _ workload: Workload, on fs: FaultInjectingFileSystem, crashPoint: Int?, fault: FaultInjectingFileSystem.Fault? = nil,
        model: inout LogCrashModel
    ) throws -> Run {
        if let crashPoint { fs.crashAfter(operations: crashPoint) }
        if let fault { fs.inject(fault) }
        var result = Run()
        // Past the crash point the process is dead: nothing it does afterwards counts, not even
        // an open that (wrongly) swallowed the file system's errors.
        func opened() throws -> Store {
            let store = try open(fs)
            if fs.isStopped { throw CrashConsistencyFailure("stopped at the crash point") }
            return store
        }
        // A fault may make the first open (or the creation) fail; a node would try again.
        func openedAgainAfterAFault() throws -> Store {
            guard fault != nil else { return try opened() }
            if let store = try? opened() { return store }
            return try opened()
        }
        do {
            var store = try openedAgainAfterAFault()
            for step in workload.steps {
                result.pending = step
                model.willRun(step)
                switch step {
                case .restart:
                    do {
                        try store.close()
                        model.acknowledge(step)
                    } catch {
                        // An injected fault may fail the close's sync: nothing more is durable.
                        guard fault != nil, !fs.isStopped else { throw error }
                    }
                    store = try openedAgainAfterAFault()
                    result.problems = try model.problems(recovered: store, pending: nil).map { "after a restart: \($0)" }
                    try model.rebase(on: store)
                case .interrupted(let inner, let count, let outcome):
                    result.pending = inner
                    let powerFails = fs.statistics.mutatingOperations + count
                    let interim = crashPoint.map { powerFails < $0 } ?? true
                    if interim { fs.crashAfter(operations: count) }
                    var acknowledged = false
                    do {
                        try inner.run(on: store)
                        acknowledged = true
                    } catch {
                        // Only the interim power failure may stop it; the crash point ends the run.
                        guard interim, fs.isStopped, fs.statistics.mutatingOperations == powerFails else { throw error }
                    }
                    if acknowledged { model.acknowledge(inner) }
                    fs.crash(outcome)
                    if let crashPoint { fs.crashAfter(operations: crashPoint - fs.statistics.mutatingOperations) }
                    do {
                        store = try openedAgainAfterAFault()
                    } catch where !fs.isStopped {
                        result.problems = ["the store does not open after the power failed during \(inner) (\(outcome)): \(error)"]
                        return result
                    }
                    result.problems = try model.problems(recovered: store, pending: acknowledged ? nil : inner)
                        .map { "after the power failed during \(inner) (\(outcome)): \($0)" }
                    try model.rebase(on: store)
                default:
                    do {
                        try step.run(on: store)
                        model.acknowledge(step)
                        result.pending = nil
                    } catch {
                        guard fault != nil, !fs.isStopped else { throw error }
                        let failure = "after \(step) failed (\(error)) and the store was reopened"
                        try? store.close()
                        store = try openedAgainAfterAFault()
                        result.problems = try model.problems(recovered: store, pending: step).map { "\(failure): \($0)" }
                        try model.rebase(on: store)
                        try retry(step, on: store, model: &model)
                    }
                }
                guard result.problems.isEmpty else { return result }
                if fs.isStopped { return result }
                result.pending = nil
            }
            result.store = store
        } catch {
            guard fs.isStopped else {
                result.problems = ["failed before the crash point: \(error)"]
                return result
            }
        }
        return result
    }

    /// Runs a step again after a fault made it fail and the store was reopened, as raft does
    /// with what was not acknowledged.
    private func retry(_ step: LogCrashStep, on store: Store, model: inout LogCrashModel) throws(StorageError) {
        do {
            try step.run(on: store)
            model.acknowledge(step)
        } catch {
            // Out of date or compacted: it had reached the disk before the failure.
            guard error.code == .snapshotOutOfDate || error.code == .compacted else { throw error }
        }
    }

    /// The recovered log takes a new entry, durably; returns the problem when it does not.
    private func continues(_ store: Store, fs: FaultInjectingFileSystem) -> String? {
        do {
            let next = try store.lastIndex() + 1
            let term = max(try store.hardState().term, try store.term(at: next - 1), 1)
            let entry = Entry(term: term, index: next, data: Array("after crash".utf8))
            try store.append([entry])
            try store.close()
            let reopened = try open(fs)
            defer { try? reopened.close() }
            return try reopened.entries(in: next..<(next + 1)) == [entry] ? nil : "an entry appended after recovery was not kept"
        } catch {
            return "the recovered log does not continue: \(error)"
        }
    }

    /// The standard workloads: appends with and without sync, HardState changes, tail
    /// truncation, snapshot markers, compaction with segment release, restarts, a power failure
    /// that tears a batch (so the next open repairs it), and enough data to cut segments when the
    /// backend under test uses small ones (a few KiB).
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
        ]
    }
}
