import RaftStorage

/// What a crash-point enumeration covered.
public struct CrashConsistencyReport: Sendable, Hashable {
    /// Mutating file-system operations in one full run of the workload (creation included): the
    /// crash points.
    public var operations = 0
    /// Crash points times outcomes tried, each followed by a recovery that was checked.
    public var crashesRecovered = 0
    /// Crashes with writes arriving out of order after which opening refused, reporting damage
    /// with its file and offset: a sector that never arrived, with later ones that did, reads
    /// exactly like a sector damaged after it was synced, so refusing is the correct answer
    /// there (see Docs/Recovery.md). Never counted for any other outcome.
    public var crashesRefusedAsDamage = 0

    /// An empty report.
    public init() {}
}

/// What a fault enumeration covered.
public struct FaultConsistencyReport: Sendable, Hashable {
    /// Runs of the workload, one per fault aimed at one call.
    public var runs = 0
    /// Faults that fired (a fault aimed at a call that a run no longer makes injects none).
    public var faultsInjected = 0

    /// An empty report.
    public init() {}
}

/// A named sequence of steps for a crash-consistency checker (``LogCrashConsistency``,
/// ``SnapshotCrashConsistency``, ``StorageCrashConsistency``).
public struct CrashWorkload<Step: Sendable>: Sendable, CustomStringConvertible {
    /// What the workload does, for test names and problem reports.
    public let name: String
    /// The steps, run in order.
    public let steps: [Step]

    /// A workload of `steps` called `name`.
    public init(name: String, steps: [Step]) {
        self.name = name
        self.steps = steps
    }

    /// The name, for test names (as a test argument) and problem reports.
    public var description: String { name }
}

/// A workload step the crash engine treats specially.
protocol CrashWorkloadStep: Sendable, CustomStringConvertible {
    /// Closing the subject cleanly and opening it again.
    var isRestart: Bool { get }
    /// A power failure after at most `afterOperations` operations of `step`, with `outcome`.
    var interruption: (step: Self, afterOperations: Int, outcome: FaultInjectingFileSystem.CrashOutcome)? { get }
}

/// What a subject acknowledged, and so what must survive a crash.
protocol CrashModel {
    associatedtype Subject
    associatedtype Step: CrashWorkloadStep

    init()
    /// `step` is about to run: what it writes may reach the disk from now on.
    mutating func willRun(_ step: Step)
    /// `step` returned successfully.
    mutating func acknowledge(_ step: Step)
    /// The subject was closed cleanly.
    mutating func closed()
    /// Problems of a subject recovered after a crash (or a reopen) during `pending`.
    func problems(recovered subject: Subject, pending: Step?) throws -> [String]
    /// What the recovered subject holds is what the workload goes on from.
    mutating func rebase(on subject: Subject) throws
}

/// The mechanics shared by the crash-consistency checkers: running a workload against a
/// ``FaultInjectingFileSystem`` up to a crash point (or with one fault aimed at one call),
/// power failures inside steps, restarts, and the checks after recovery.
struct CrashEngine<Model: CrashModel> {
    typealias Subject = Model.Subject
    typealias Step = Model.Step

    let open: (FaultInjectingFileSystem) throws -> Subject
    let close: (Subject) throws -> Void
    let perform: (Step, Subject, FaultInjectingFileSystem) throws -> Void
    /// Whether an error from running a step again after a fault means it had already happened.
    let alreadyDone: (any Error) -> Bool
    /// The recovered subject takes new writes durably; the problem when it does not.
    let continues: (Subject, FaultInjectingFileSystem) -> String?

    struct Run {
        /// The open subject, when the run ended without reaching the crash point.
        var subject: Subject?
        /// The step the crash point interrupted.
        var pending: Step?
        var problems: [String] = []
    }

    /// Every crash point of `steps` with each of `outcomes`; returns the coverage and problems.
    func explore(_ name: String, _ steps: [Step], outcomes: [FaultInjectingFileSystem.CrashOutcome]) throws -> (CrashConsistencyReport, [String]) {
        let counting = FaultInjectingFileSystem()
        var countingModel = Model()
        let clean = try run(steps, on: counting, crashPoint: nil, model: &countingModel)
        if let problem = clean.problems.first { throw CrashConsistencyFailure("\(name), without a crash: \(problem)") }
        if let subject = clean.subject { try close(subject) }
        let total = counting.statistics.mutatingOperations

        var report = CrashConsistencyReport()
        report.operations = total
        var problems: [String] = []
        for point in 1...max(1, total) {
            for outcome in outcomes {
                let (found, refused) = try crash(name, steps, after: point, outcome: outcome)
                problems += found
                if refused { report.crashesRefusedAsDamage += 1 } else { report.crashesRecovered += 1 }
            }
        }
        return (report, problems)
    }

    /// One crash; returns the problems found and whether opening refused with damage after
    /// out-of-order writes (an accepted outcome, see ``CrashConsistencyReport/crashesRefusedAsDamage``).
    private func crash(
        _ name: String, _ steps: [Step], after point: Int, outcome: FaultInjectingFileSystem.CrashOutcome
    ) throws -> (problems: [String], refused: Bool) {
        let fs = FaultInjectingFileSystem()
        let context = "\(name), crash after operation \(point), \(outcome)"
        var model = Model()
        let result = try run(steps, on: fs, crashPoint: point, model: &model)
        guard result.problems.isEmpty else { return (result.problems.map { "\(context): \($0)" }, false) }
        fs.crash(outcome.varied(by: point))
        let recovered: Subject
        do {
            recovered = try open(fs)
        } catch let error as StorageError where outcome.reordersWrites && error.isDamage && error.path != nil && error.offset != nil {
            return ([], true)
        } catch {
            return (["\(context): does not open after the crash: \(error)"], false)
        }
        let during = result.pending.map(String.init(describing:)) ?? "no step"
        var problems = try model.problems(recovered: recovered, pending: result.pending).map { "\(context), during \(during): \($0)" }
        if let failure = continues(recovered, fs) { problems.append("\(context): \(failure)") }
        return (problems, false)
    }

    /// For each of `faults` and each call it can target in `steps`, a run with that call
    /// failing, answered by reopening and retrying, then a power failure; returns the coverage
    /// and problems.
    func exploreFaults(_ name: String, _ steps: [Step], faults: [FaultInjectingFileSystem.Fault]) throws -> (FaultConsistencyReport, [String]) {
        let counting = FaultInjectingFileSystem()
        var countingModel = Model()
        let clean = try run(steps, on: counting, crashPoint: nil, model: &countingModel)
        if let problem = clean.problems.first { throw CrashConsistencyFailure("\(name), without a fault: \(problem)") }
        if let subject = clean.subject { try close(subject) }
        let calls = counting.statistics.calls

        var report = FaultConsistencyReport()
        var problems: [String] = []
        for fault in faults {
            for skip in 0..<(calls[fault.operation] ?? 0) {
                var aimed = fault
                aimed.skipping = skip
                aimed.times = 1
                let context = "\(name), \(fault.operation) call \(skip + 1) fails with errno \(fault.errno)"
                let fs = FaultInjectingFileSystem()
                var model = Model()
                let result = try run(steps, on: fs, crashPoint: nil, fault: aimed, model: &model)
                report.runs += 1
                report.faultsInjected += fs.statistics.faultsInjected
                problems += result.problems.map { "\(context): \($0)" }
                guard result.problems.isEmpty else { continue }
                if let subject = result.subject { try? close(subject) }
                fs.crash(.dropUnsynced)
                do {
                    let recovered = try open(fs)
                    problems += try model.problems(recovered: recovered, pending: nil).map { "\(context), then a crash: \($0)" }
                    try? close(recovered)
                } catch {
                    problems.append("\(context): does not open after the final crash: \(error)")
                }
            }
        }
        return (report, problems)
    }

    /// Runs `steps`, stopping at the file system's `crashPoint`-th mutating operation (when
    /// given), and keeps `model` up to date with what was acknowledged.
    ///
    /// With `fault`, the fault is injected first and a step (or open) that fails is answered as
    /// a node would: the subject is closed and opened again, checked against what was
    /// acknowledged, and the step is tried again before the workload goes on.
    func run(
        _ steps: [Step], on fs: FaultInjectingFileSystem, crashPoint: Int?, fault: FaultInjectingFileSystem.Fault? = nil,
        model: inout Model
    ) throws -> Run {
        if let crashPoint { fs.crashAfter(operations: crashPoint) }
        if let fault { fs.inject(fault) }
        var result = Run()
        // Past the crash point the process is dead: nothing it does afterwards counts, not even
        // an open that (wrongly) swallowed the file system's errors.
        func opened() throws -> Subject {
            let subject = try open(fs)
            if fs.isStopped { throw CrashConsistencyFailure("stopped at the crash point") }
            return subject
        }
        // A fault may make an open (or the creation) fail; a node would try again.
        func openedAgainAfterAFault() throws -> Subject {
            guard fault != nil else { return try opened() }
            if let subject = try? opened() { return subject }
            return try opened()
        }
        do {
            var subject = try openedAgainAfterAFault()
            for step in steps {
                result.pending = step
                model.willRun(step)
                if step.isRestart {
                    do {
                        try close(subject)
                        model.closed()
                    } catch {
                        // An injected fault may fail the close's sync: nothing more is durable.
                        guard fault != nil, !fs.isStopped else { throw error }
                    }
                    subject = try openedAgainAfterAFault()
                    result.problems = try model.problems(recovered: subject, pending: nil).map { "after a restart: \($0)" }
                    try model.rebase(on: subject)
                } else if let (inner, count, outcome) = step.interruption {
                    result.pending = inner
                    let powerFails = fs.statistics.mutatingOperations + count
                    let interim = crashPoint.map { powerFails < $0 } ?? true
                    if interim { fs.crashAfter(operations: count) }
                    var acknowledged = false
                    do {
                        try perform(inner, subject, fs)
                        acknowledged = true
                    } catch {
                        // Only the interim power failure (or an injected fault) may stop it; the
                        // crash point ends the run.
                        let poweredOff = interim && fs.isStopped && fs.statistics.mutatingOperations == powerFails
                        guard poweredOff || (fault != nil && !fs.isStopped) else { throw error }
                    }
                    if acknowledged { model.acknowledge(inner) }
                    fs.crash(outcome)
                    if let crashPoint { fs.crashAfter(operations: crashPoint - fs.statistics.mutatingOperations) }
                    do {
                        subject = try openedAgainAfterAFault()
                    } catch where !fs.isStopped {
                        result.problems = ["does not open after the power failed during \(inner) (\(outcome)): \(error)"]
                        return result
                    }
                    result.problems = try model.problems(recovered: subject, pending: acknowledged ? nil : inner)
                        .map { "after the power failed during \(inner) (\(outcome)): \($0)" }
                    try model.rebase(on: subject)
                } else {
                    do {
                        try perform(step, subject, fs)
                        model.acknowledge(step)
                        result.pending = nil
                    } catch {
                        guard fault != nil, !fs.isStopped else { throw error }
                        let failure = "after \(step) failed (\(error)) and was reopened"
                        try? close(subject)
                        subject = try openedAgainAfterAFault()
                        result.problems = try model.problems(recovered: subject, pending: step).map { "\(failure): \($0)" }
                        try model.rebase(on: subject)
                        try retry(step, on: subject, fs: fs, model: &model)
                    }
                }
                guard result.problems.isEmpty else { return result }
                if fs.isStopped { return result }
                result.pending = nil
            }
            result.subject = subject
        } catch {
            guard fs.isStopped else {
                result.problems = ["failed before the crash point: \(error)"]
                return result
            }
        }
        return result
    }

    /// Runs a step again after a fault made it fail and the subject was reopened, as raft does
    /// with what was not acknowledged.
    private func retry(_ step: Step, on subject: Subject, fs: FaultInjectingFileSystem, model: inout Model) throws {
        do {
            try perform(step, subject, fs)
            model.acknowledge(step)
        } catch {
            guard alreadyDone(error) else { throw error }
        }
    }
}
