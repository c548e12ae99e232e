public import RaftStorage
public import Testing

/// Crash-point enumeration for durable ``RaftStorage/LogStore``s: runs a workload, crashes the file system
/// after every one of its operations in turn (and with each ``FaultInjectingFileSystem/CrashOutcome``),
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
        [.dropUnsynced, .keepUnsynced, .tearLastWrite(sectorSize: 512), .tearLastWrite(sectorSize: 4096)]
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
        let store = try open(fs)
        for step in workload.steps { try step.run(on: store) }
        try store.close()
        return fs.statistics.mutatingOperations
    }

    private func crash(_ workload: Workload, after point: Int, outcome: FaultInjectingFileSystem.CrashOutcome) throws -> [String] {
        let fs = FaultInjectingFileSystem()
        let context = "\(workload.name), crash after operation \(point), \(outcome)"
        var model = LogCrashModel()
        var pending: LogCrashStep?
        fs.crashAfter(operations: point)
        do {
            let store = try open(fs)
            for step in workload.steps {
                pending = step
                model.willRun(step)
                try step.run(on: store)
                model.acknowledge(step)
                pending = nil
            }
        } catch {
            guard fs.isStopped else { return ["\(context): failed before the crash point: \(error)"] }
        }
        fs.crash(outcome)
        let recovered: Store
        do {
            recovered = try open(fs)
        } catch {
            return ["\(context): the store does not open after the crash: \(error)"]
        }
        let during = pending.map(String.init(describing:)) ?? "no step"
        var problems = try model.problems(recovered: recovered, pending: pending).map { "\(context), during \(during): \($0)" }
        if let failure = continues(recovered, fs: fs) { problems.append("\(context): \(failure)") }
        return problems
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
    /// truncation, snapshot markers, compaction, and enough data to cut segments when the
    /// backend under test uses small ones.
    public static var workloads: [Workload] {
        let payload = { (index: UInt64, term: UInt64) in Entry(term: term, index: index, data: Array(repeating: UInt8(truncatingIfNeeded: index), count: 300)) }
        let batch = { (range: ClosedRange<UInt64>, term: UInt64) in range.map { payload($0, term) } }
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
            Workload(name: "many batches", steps: (0..<12).map { round in
                let start = UInt64(round * 10 + 1)
                return .save(HardState(term: 1, vote: 1, commit: start - 1), batch(start...(start + 9), 1))
            }),
        ]
    }
}
