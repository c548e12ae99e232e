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
    /// What was expected and what happened, naming the case and the run.
    public var message: String
    /// The caller's line that ran the suite (a test function).
    public var caller: CheckLocation
    /// The step inside the kit that failed, when it is not the caller's line.
    public var step: CheckLocation?

    /// An issue saying `message`, reported at `caller`, found by the check at `step`.
    public init(message: String, caller: CheckLocation, step: CheckLocation? = nil) {
        self.message = message
        self.caller = caller
        self.step = step
    }

    public var description: String {
        guard let step else { return message }
        return "\(message) [checked at \(step)]"
    }
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

    /// Runs `body` with `reporter` receiving every failed check made inside it, on this task.
    public static func withReporter<Result>(_ reporter: @escaping Reporter, _ body: () throws -> Result) rethrows -> Result {
        try $reporter.withValue(reporter, operation: body)
    }

    /// Reports one failed check.
    static func record(_ message: String, caller: CheckLocation, step: CheckLocation? = nil) {
        let issue = ConformanceIssue(message: message, caller: caller, step: step)
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
