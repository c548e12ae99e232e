import RaftStorage

extension LogCrashConsistency {
    /// What a fault enumeration covered.
    public typealias FaultReport = FaultConsistencyReport

    /// The faults tried by default: fsync fails (losing the unsynced data, as Linux may), a
    /// write fails with `ENOSPC`, and preallocation fails with `ENOSPC`.
    public static var defaultFaults: [FaultInjectingFileSystem.Fault] {
        FaultInjectingFileSystem.Fault.standard
    }

    /// Fault enumeration: for each of `faults` and each call it can target in `workload`, runs
    /// the workload with that one call failing. A step that fails is answered as a node would:
    /// the store is closed and reopened in the same boot (not crashed), checked against what was
    /// acknowledged, and the step tried again. At the end the power fails (unsynced data
    /// dropped) and the reopened store must still hold everything acknowledged - including
    /// what was acknowledged after the fault, which catches a log that builds on data a failed
    /// fsync left only in the page cache.
    ///
    /// Records an issue for every problem found.
    @discardableResult
    public func checkFaults(
        _ workload: Workload,
        faults: [FaultInjectingFileSystem.Fault] = defaultFaults,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> FaultReport {
        ConformanceReporting.recording(
            try exploreFaults(workload, faults: faults),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    /// ``checkFaults(_:faults:fileID:filePath:line:column:)`` returning the problems, one line each.
    public func exploreFaults(_ workload: Workload, faults: [FaultInjectingFileSystem.Fault] = defaultFaults) throws -> (FaultReport, [String]) {
        try engine.exploreFaults(workload.name, workload.steps, faults: faults)
    }
}

/// ``LogCrashModel`` for the engine, over one store type.
struct LogModel<Store: LogStore>: CrashModel {
    var log = LogCrashModel()

    mutating func willRun(_ step: LogCrashStep) { log.willRun(step) }
    mutating func acknowledge(_ step: LogCrashStep) { log.acknowledge(step) }
    mutating func closed() { log.acknowledge(.restart) }
    func problems(recovered store: Store, pending: LogCrashStep?) throws -> [String] { try log.problems(recovered: store, pending: pending) }
    mutating func rebase(on store: Store) throws { try log.rebase(on: store) }
}

extension LogCrashStep: CrashWorkloadStep {
    var isRestart: Bool { self == .restart }

    var interruption: (step: LogCrashStep, afterOperations: Int, outcome: FaultInjectingFileSystem.CrashOutcome)? {
        guard case .interrupted(let step, let count, let outcome) = self else { return nil }
        return (step, count, outcome)
    }
}
