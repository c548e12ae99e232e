import RaftStorage
public import Testing

extension LogCrashConsistency {
    /// What a fault enumeration covered.
    public struct FaultReport: Sendable, Hashable {
        /// Runs of the workload, one per fault aimed at one call.
        public var runs = 0
        /// Faults that fired (a run whose target call never came injects none).
        public var faultsInjected = 0
    }

    /// The faults tried by default: fsync fails (losing the unsynced data, as Linux may), a
    /// write fails with `ENOSPC`, and preallocation fails with `ENOSPC`.
    public static var defaultFaults: [FaultInjectingFileSystem.Fault] {
        [.syncFails(), .noSpace(), FaultInjectingFileSystem.Fault(.preallocate, errno: 28)]
    }

    /// Fault enumeration: for each of `faults` and each call it can target in `workload`, runs
    /// the workload with that one call failing. A step that fails is answered as a node would:
    /// the store is closed and reopened in the same boot (not crashed), checked against what was
    /// acknowledged, and the workload goes on. At the end the power fails (unsynced data
    /// dropped) and the reopened store must still hold everything acknowledged - including
    /// what was acknowledged after the fault, which catches a log that builds on data a failed
    /// fsync left only in the page cache.
    ///
    /// Records an issue for every problem found.
    @discardableResult
    public func checkFaults(
        _ workload: Workload,
        faults: [FaultInjectingFileSystem.Fault] = defaultFaults,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> FaultReport {
        let (report, problems) = try exploreFaults(workload, faults: faults)
        for problem in problems { Issue.record(Comment(rawValue: problem), sourceLocation: sourceLocation) }
        return report
    }

    /// ``checkFaults(_:faults:sourceLocation:)`` returning the problems, one line each.
    public func exploreFaults(_ workload: Workload, faults: [FaultInjectingFileSystem.Fault] = defaultFaults) throws -> (FaultReport, [String]) {
        let counting = FaultInjectingFileSystem()
        var countingModel = LogCrashModel()
        let clean = try run(workload, on: counting, crashPoint: nil, model: &countingModel)
        if let problem = clean.problems.first { throw CrashConsistencyFailure("\(workload.name), without a fault: \(problem)") }
        try clean.store?.close()
        let calls = counting.statistics.calls

        var report = FaultReport()
        var problems: [String] = []
        for fault in faults {
            for skip in 0..<(calls[fault.operation] ?? 0) {
                var aimed = fault
                aimed.skipping = skip
                aimed.times = 1
                let context = "\(workload.name), \(fault.operation) call \(skip + 1) fails with errno \(fault.errno)"
                let fs = FaultInjectingFileSystem()
                var model = LogCrashModel()
                let result = try run(workload, on: fs, crashPoint: nil, fault: aimed, model: &model)
                report.runs += 1
                report.faultsInjected += fs.statistics.faultsInjected
                problems += result.problems.map { "\(context): \($0)" }
                guard result.problems.isEmpty else { continue }
                try? result.store?.close()
                fs.crash(.dropUnsynced)
                do {
                    let recovered = try open(fs)
                    problems += try model.problems(recovered: recovered, pending: nil).map { "\(context), then a crash: \($0)" }
                    try? recovered.close()
                } catch {
                    problems.append("\(context): the store does not open after the final crash: \(error)")
                }
            }
        }
        return (report, problems)
    }
}
