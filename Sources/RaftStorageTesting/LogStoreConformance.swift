public import RaftStorage

/// The conformance suite for ``RaftStorage/LogStore`` backends: etcd's `TestStorage*` tables plus empty logs,
/// compaction, tail truncation, size limits, HardState round trips and rules, snapshot boundaries,
/// resuming from older markers, closing, durability and concurrent reads - every rule in
/// ``RaftStorage/LogStore``'s "Implementation requirements".
///
/// Every suite of the kit has the same shape: `makeStore:` and the optional `reopen:` and
/// `crash:` hooks, ``cases`` to pass to `@Test(arguments:)`, and
/// ``run(_:fileID:filePath:line:column:)`` for one case or ``run(fileID:filePath:line:column:)``
/// for all of them. Run one test per case, so a failure names its case:
///
/// ```swift
/// static let suite = LogStoreConformance(
///     makeStore: { try MyLog(directory: newTemporaryDirectory()) },
///     reopen: { old in try MyLog(directory: old.directory) },      // old is closed already
///     crash: { old in old.fileSystem.crash(.dropUnsynced); return try MyLog(directory: old.directory, fileSystem: old.fileSystem) })
///
/// @Test(arguments: suite.cases)
/// func conformance(_ testCase: LogStoreConformance<MyLog>.Case) throws {
///     try Self.suite.run(testCase)
/// }
/// ```
///
/// or all of it with one call: `try LogStoreConformance(makeStore: { MemoryLogStore() }).run()`.
///
/// Each case runs once on a store from `makeStore` without restarts (the plain run). With a
/// `reopen` hook it runs again on a new store, restarting it in the middle and at the end: the
/// suite syncs and closes the store, then `reopen` opens it again from what the closed store left.
/// A reopen syncs first, so it cannot tell whether the store made anything durable before it
/// was asked to: with a `crash` hook (typically over a `FaultInjectingFileSystem`) the case runs
/// a third time, the suite handing the open store to `crash` at the same points instead, and
/// checks that everything the protocol says is durable at that point survived. Without `crash`,
/// ``durabilityChecked`` is `false` and each call site of ``run(_:fileID:filePath:line:column:)``
/// prints one line saying so.
///
/// Failed checks are reported through ``ConformanceReporting``: as issues of the running Swift
/// Testing test, at the line that called `run`, each naming the suite, the store type, the case,
/// the run (`[reopen]`, `[crash]`) and the step of the case that failed. From XCTest, run the
/// suite inside ``ConformanceReporting/withReporter(_:_:)``, which receives each failed check:
///
/// ```swift
/// try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///     try LogStoreConformance(makeStore: { MemoryLogStore() }).run()
/// }
/// ```
public struct LogStoreConformance<Store: LogStore>: ConformanceSuite, Sendable {
    /// Returns a new, empty store for each run of each case.
    public let makeStore: @Sendable () throws -> Store
    /// Opens a store again from what it left when the suite closed it; `nil` for stores that keep
    /// nothing.
    public let reopen: (@Sendable (Store) throws -> Store)?
    /// Simulates a crash: drops everything the open store has not made durable and opens the store
    /// again from what survived; the suite abandons the old store without
    /// ``RaftStorage/LogStore/close()``. `nil` when the backend cannot simulate one.
    public let crash: (@Sendable (Store) throws -> Store)?

    /// - Parameters:
    ///   - makeStore: returns a new, empty store each time it is called (once per run of a case).
    ///   - reopen: for durable stores: gets a store the suite has synced and closed, and returns
    ///     it opened again from its files. It must not close the store itself.
    ///   - crash: for durable stores that can simulate a power failure: gets the open store,
    ///     drops what it has not made durable (without closing it) and returns it opened again
    ///     from what is left; with a `FaultInjectingFileSystem`, `fileSystem.crash(.dropUnsynced)`
    ///     and then the same open call as `reopen`.
    public init(
        makeStore: @escaping @Sendable () throws -> Store,
        reopen: (@Sendable (Store) throws -> Store)? = nil,
        crash: (@Sendable (Store) throws -> Store)? = nil
    ) {
        self.makeStore = makeStore
        self.reopen = reopen
        self.crash = crash
    }

    /// Whether runs check durability across simulated crashes: `true` when the suite has a
    /// ``crash`` closure. Without one, nothing shows that a store syncs before it acknowledges.
    public var durabilityChecked: Bool { crash != nil }

    /// One named case.
    public struct Case: Sendable, CustomStringConvertible {
        /// The case's name, shown in test results and in every failure of the case.
        public let name: String
        let body: @Sendable (inout LogStoreHarness<Store>) throws -> Void

        /// The name, shown in test results and as a test argument.
        public var description: String { name }
    }

    /// The cases this suite runs, in a stable order: every one (none needs a hook). Pass them to
    /// `@Test(arguments:)` and each to ``run(_:fileID:filePath:line:column:)``.
    public var cases: [Case] { Self.allCases }

    /// Runs `testCase`: plain, then (with ``reopen``) with restarts, then (with ``crash``) with
    /// simulated crashes, each time on a new store. Failed checks are reported at the caller's
    /// location (``ConformanceSuite``'s `run(_:fileID:filePath:line:column:)` passes it) through
    /// ``ConformanceReporting``.
    ///
    /// - Throws: ``ConformanceSetupError`` when ``makeStore`` throws; failed checks are reported,
    ///   not thrown.
    public func run(_ testCase: Case, caller: CheckLocation) throws {
        try runOnce(testCase, restart: nil, caller: caller)
        if let reopen {
            try runOnce(testCase, restart: .reopen(reopen), caller: caller)
        }
        if let crash {
            try runOnce(testCase, restart: .crash(crash), caller: caller)
        } else {
            DurabilityNotice.unchecked(suite: "LogStoreConformance", store: "\(Store.self)", caller: caller)
        }
    }

    private func runOnce(_ testCase: Case, restart: LogStoreHarness<Store>.Restart?, caller: CheckLocation) throws {
        let run: ConformanceRun = switch restart {
        case nil: .plain
        case .some(.reopen): .reopen
        case .some(.crash): .crash
        }
        try ConformanceReporting.inRun(
            of: "LogStoreConformance", backendType: "\(Store.self)", testCase: testCase.name, run: run,
            make: makeStore, name: { backendName($0) }
        ) { store in
            var harness = LogStoreHarness(store: store, restart: restart, caller: caller)
            do {
                try testCase.body(&harness)
                try harness.checkpoint()
            } catch {
                ConformanceReporting.recordThrown(error, caller: caller, step: CheckLocation())
            }
            // Closing is a sync: a store that fails it has not made everything durable. A store the
            // case closed itself, or that a failed restart left closed or abandoned, is left alone.
            guard harness.storeNeedsClose else { return }
            do {
                try harness.store.close()
            } catch {
                ConformanceReporting.record("close() after the case: \(error)", caller: caller, step: CheckLocation())
            }
        }
    }

    /// Every case, in a stable order.
    static var allCases: [Case] {
        termCases + entriesCases + indexCases + compactCases + recordSnapshotCases + appendCases
            + applySnapshotCases + emptyLogCases + truncationCases + payloadCases + hardStateCases
            + hardStateRuleCases + markerCases + resumeCases + closeCases + durabilityCases + concurrencyCases
    }
}

// MARK: - Fixtures

/// An entry without data, as in etcd's tables.
func bare(_ index: UInt64, _ term: UInt64) -> Entry { Entry(term: term, index: index) }

extension LogStoreConformance {
    typealias Harness = LogStoreHarness<Store>

    static func testCase(_ name: String, _ body: @escaping @Sendable (inout Harness) throws -> Void) -> Case {
        Case(name: name, body: body)
    }

    /// etcd's table fixture: boundary (3, 3) followed by entries (4, 4), (5, 5) and `extra`.
    static func etcdLog(_ h: inout Harness, extra: [Entry] = []) throws {
        try h.store.applySnapshot(SnapshotMetadata(index: 3, term: 3))
        try h.store.append([bare(4, 4), bare(5, 5)] + extra)
        try h.checkpoint()
    }

    /// Entries 1...`count` at term 1 with payloads.
    static func plainLog(_ h: inout Harness, count: UInt64 = 10) throws {
        try h.store.append(makeEntries(1...count, term: 1))
        try h.checkpoint()
    }
}
