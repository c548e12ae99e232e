import RaftStorage

/// Where a conformance check sits: a step inside the kit, or the caller's line that ran it.
public struct CheckLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file's module-qualified name, `Module/File.swift`, as `#fileID` gives it.
    public var fileID: String
    /// The file's full path, as `#filePath` gives it.
    public var filePath: String
    /// The line, 1 for the first.
    public var line: Int
    /// The column, 1 for the first.
    public var column: Int

    /// The location of the code that writes `CheckLocation()` (or passes the defaults on).
    public init(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) {
        self.fileID = fileID
        self.filePath = filePath
        self.line = line
        self.column = column
    }

    public var description: String { "\(fileID):\(line)" }
}

/// One failed conformance check.
public struct ConformanceIssue: Sendable, CustomStringConvertible {
    /// What was expected and what happened.
    public var message: String
    /// The caller's line that ran the suite (a test function).
    public var caller: CheckLocation
    /// The step inside the kit that failed, when it is not the caller's line.
    public var step: CheckLocation?
    /// The suite that made the check, e.g. `LogStoreConformance`; `nil` for the crash checkers.
    public var suite: String?
    /// The backend under test: the store type (both, for ``StorageConformance``), or the codec type.
    public var backend: String?
    /// The name of the case that failed.
    public var testCase: String?
    /// The run of the case: `nil` for the plain run, `"reopen"` or `"crash"` for the runs
    /// through the suite's `reopen:` and `crash:` hooks.
    public var run: String?

    /// An issue saying `message`, reported at `caller`, found by the check at `step`, in the
    /// run `run` of case `testCase` of `suite` over `backend`.
    public init(
        message: String, caller: CheckLocation, step: CheckLocation? = nil,
        suite: String? = nil, backend: String? = nil, testCase: String? = nil, run: String? = nil
    ) {
        self.message = message
        self.caller = caller
        self.step = step
        self.suite = suite
        self.backend = backend
        self.testCase = testCase
        self.run = run
    }

    /// `<suite> of <backend>, case "<case>" [<run>]: <message> [checked at <step>]`, with the
    /// parts that are known.
    public var description: String {
        let prefix = Self.naming(suite: suite, backend: backend, testCase: testCase, run: run)
        var text = prefix.isEmpty ? message : "\(prefix): \(message)"
        if let step { text += " [checked at \(step)]" }
        return text
    }

    /// `<suite> of <backend>, case "<case>" [<run>]`, with the parts that are given.
    static func naming(suite: String?, backend: String?, testCase: String?, run: String?) -> String {
        var parts: [String] = []
        if let suite { parts.append(suite) }
        if let backend { parts.append(parts.isEmpty ? backend : "of \(backend),") }
        if let testCase { parts.append("case \"\(testCase)\"") }
        if let run { parts.append("[\(run)]") }
        var text = parts.joined(separator: " ")
        if text.hasSuffix(",") { text.removeLast() }
        return text
    }
}

/// The run of a case: without restarts, or with each restart through the suite's `reopen:` or
/// `crash:` hook.
enum ConformanceRun: String, Sendable {
    case plain
    case reopen
    case crash

    /// The name issues carry (``ConformanceIssue/run``): none for the plain run.
    var label: String? { self == .plain ? nil : rawValue }
}

/// What every check made while a suite runs one case names: the suite, the backend, the case and
/// the run (see ``ConformanceReporting/withScope(_:_:)``).
struct ConformanceScope: Sendable {
    var suite: String
    var backend: String
    var testCase: String
    var run: ConformanceRun

    /// `<suite> of <backend>, case "<case>" [<run>]`, as issues begin.
    var description: String {
        ConformanceIssue.naming(suite: suite, backend: backend, testCase: testCase, run: run.label)
    }
}

/// A failure of one step of a case, thrown by the kit's restart steps: the run reports it at
/// `step` (the case's line that asked for the restart) and goes on with the next run.
struct ConformanceStepError: Error, CustomStringConvertible {
    var message: String
    var step: CheckLocation

    var description: String { "\(message) [at \(step)]" }
}

/// A suite could not start a run of a case: its `makeStore:` (or `makeCodec:`) threw. Thrown by
/// the suites' `run` methods, naming the suite, the backend type, the case and the run.
public struct ConformanceSetupError: Error, CustomStringConvertible {
    /// `<suite> of <backend>, case "<case>" [<run>]: makeStore threw: <error>`.
    public let description: String
}

/// The name failures give a backend: its type, and for the type-erased stores the type they wrap.
func backendName(_ value: Any) -> String {
    if let log = value as? AnyLogStore { return "AnyLogStore(\(type(of: log.base)))" }
    if let snapshots = value as? AnySnapshotStore { return "AnySnapshotStore(\(type(of: snapshots.base)))" }
    return "\(type(of: value))"
}

/// Where the conformance kit reports failed checks.
///
/// The kit's checks never stop at the first failure: like a Swift Testing expectation, each one
/// reports and the case goes on. Under Swift Testing, failures are recorded as issues of the
/// running test, at the line that ran the suite, with no set-up. Any other runner installs a
/// reporter around its calls, for example XCTest:
///
/// ```swift
/// final class MyLogTests: XCTestCase {
///     func testConformance() throws {
///         try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///             try LogStoreConformance(makeStore: { MemoryLogStore() }).run()
///         }
///     }
/// }
/// ```
///
/// A reporter installed takes precedence: inside ``withReporter(_:_:)`` nothing is recorded as
/// a Swift Testing issue, even when a Swift Testing test is running. Checks are made on the
/// task that called the suite (work the kit runs on other threads hands its findings back to
/// that task first), so the reporter sees every one of them.
///
/// A check that fails with neither Swift Testing running nor a reporter installed stops the
/// process with the failure's text: a conformance failure is never dropped silently.
public enum ConformanceReporting {
    /// A function that receives each failed check.
    public typealias Reporter = @Sendable (ConformanceIssue) -> Void

    @TaskLocal static var reporter: Reporter?

    /// The suite, backend, case and run the checks made now belong to; `nil` outside a suite.
    @TaskLocal static var scope: ConformanceScope?

    /// Runs `body` with every check made inside it, on this task, naming `scope`.
    static func withScope<Result>(_ scope: ConformanceScope, _ body: () throws -> Result) rethrows -> Result {
        try $scope.withValue(scope, operation: body)
    }

    /// Runs `body` with `reporter` receiving every failed check made inside it, on this task.
    public static func withReporter<Result>(_ reporter: @escaping Reporter, _ body: () throws -> Result) rethrows -> Result {
        try $reporter.withValue(reporter, operation: body)
    }

    /// Reports one failed check.
    static func record(_ message: String, caller: CheckLocation, step: CheckLocation? = nil) {
        let scope = self.scope
        let issue = ConformanceIssue(
            message: message, caller: caller, step: step,
            suite: scope?.suite, backend: scope?.backend, testCase: scope?.testCase, run: scope?.run.label)
        if let reporter { return reporter(issue) }
        if SwiftTestingReporter.record(issue) { return }
        fatalError("conformance check failed outside Swift Testing and without ConformanceReporting.withReporter: \(issue)")
    }

    /// Reports `message` when `condition` is false; returns `condition`.
    @discardableResult
    static func check(_ condition: Bool, _ message: @autoclosure () -> String, caller: CheckLocation, step: CheckLocation? = nil) -> Bool {
        if !condition { record(message(), caller: caller, step: step) }
        return condition
    }

    /// Reports when `actual` differs from `expected`, naming both; returns whether they matched.
    @discardableResult
    static func checkEqual<Value: Equatable>(
        _ actual: Value, _ expected: Value, _ what: @autoclosure () -> String, caller: CheckLocation, step: CheckLocation? = nil
    ) -> Bool {
        check(actual == expected, "\(what()): got \(actual), expected \(expected)", caller: caller, step: step)
    }

    /// Runs `body`, expecting it to throw a ``RaftStorage/StorageError`` with `code`.
    static func checkThrows<Result>(
        _ code: StorageError.Code, _ what: @autoclosure () -> String, caller: CheckLocation, step: CheckLocation? = nil,
        _ body: () throws -> Result
    ) {
        do {
            let result = try body()
            record("\(what()): expected error \(code), got \(result)", caller: caller, step: step)
        } catch let error as StorageError {
            check(error.code == code, "\(what()): expected \(code), got \(error)", caller: caller, step: step)
        } catch {
            record("\(what()): expected a StorageError \(code), got \(error)", caller: caller, step: step)
        }
    }

    /// Reports each of `problems` (one line each, as the checkers' `explore` methods return
    /// them) and returns `report`.
    static func recording<Report>(_ result: (Report, [String]), caller: CheckLocation, step: CheckLocation? = nil) -> Report {
        for problem in result.1 { record(problem, caller: caller, step: step) }
        return result.0
    }
}
