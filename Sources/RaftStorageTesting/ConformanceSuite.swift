/// The shape every suite of the kit shares: the cases it can run for the backend it was given,
/// and a way to run one of them.
///
/// ```swift
/// @Test(arguments: suite.cases)
/// func conformance(_ testCase: LogStoreConformance<MyLog>.Case) throws {
///     try suite.run(testCase)
/// }
/// ```
///
/// Failures are reported through ``ConformanceReporting``: to the running Swift Testing test,
/// or to the reporter an XCTest (or any other runner) installs.
public protocol ConformanceSuite {
    /// One case of the suite.
    associatedtype Case

    /// The cases this suite can run with the hooks it was given, in a stable order.
    var cases: [Case] { get }

    /// Runs `testCase`, reporting each failed check for `caller`.
    func run(_ testCase: Case, caller: CheckLocation) throws
}

extension ConformanceSuite {
    /// Runs `testCase` (plainly, then once per restart hook given), reporting failures at the
    /// caller's line with the step inside the kit that failed.
    public func run(
        _ testCase: Case, fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws {
        try run(testCase, caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    /// Runs every case of ``cases`` in turn; see ``run(_:fileID:filePath:line:column:)``.
    public func run(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
        let caller = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        for testCase in cases { try run(testCase, caller: caller) }
    }
}
