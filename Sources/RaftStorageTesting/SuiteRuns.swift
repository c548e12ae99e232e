// What the four conformance suites share in running a case: the backend made for each run, the
// scope every check of the run names (suite, backend, case, run), and how errors a case throws
// are reported.

extension ConformanceReporting {
    /// Makes the backend for one run of a case with `make` and runs `body` on it, every check
    /// inside naming `suite`, the backend (``backendName(_:)`` of what `make` returned, or
    /// `backendType` when it threw), `testCase` and `run`.
    ///
    /// - Throws: ``ConformanceSetupError`` when `make` throws, naming all of them; nothing else.
    static func inRun<Backend>(
        of suite: String, backendType: String, testCase: String, run: ConformanceRun,
        make: () throws -> Backend, name: (Backend) -> String, _ body: (Backend) -> Void
    ) throws {
        let backend: Backend
        do {
            backend = try make()
        } catch {
            let scope = ConformanceScope(suite: suite, backend: backendType, testCase: testCase, run: run)
            throw ConformanceSetupError(description: "\(scope.description): making the backend threw: \(error)")
        }
        withScope(ConformanceScope(suite: suite, backend: name(backend), testCase: testCase, run: run)) { body(backend) }
    }

    /// Reports an error that ended a run of a case early: a ``ConformanceStepError`` at its step
    /// (the case's line whose restart failed), any other error as unexpected at `step`.
    static func recordThrown(_ error: any Error, caller: CheckLocation, step: CheckLocation) {
        if let failed = error as? ConformanceStepError {
            record(failed.message, caller: caller, step: failed.step)
        } else {
            record("unexpected error: \(error)", caller: caller, step: step)
        }
    }
}
