public import RaftStorage

/// The conformance suite for ``RaftStorage/LogStore`` backends: etcd's `TestStorage*` tables plus empty logs,
/// compaction, tail truncation, size limits, HardState round trips and rules, snapshot boundaries,
/// resuming from older markers, closing, durability and concurrent reads - every rule in
/// ``RaftStorage/LogStore``'s "Implementation requirements".
///
/// Run all of it with one call:
///
/// ```swift
/// @Test func conformance() throws {
///     try LogStoreConformance(makeStore: { MemoryLogStore() }).run()
/// }
/// ```
///
/// or one test per case, so a failure names its case:
///
/// ```swift
/// @Test(arguments: LogStoreConformance<MyLog>.cases)
/// func conformance(_ testCase: LogStoreConformance<MyLog>.Case) throws {
///     try LogStoreConformance(makeStore: makeLog, reopen: reopenLog, crash: crashLog).run(testCase)
/// }
/// ```
///
/// A durable backend passes `reopen`, a closure that closes the store it is given and opens it
/// again from its files; every case then runs a second time with restarts in the middle and at
/// the end. A reopen syncs first and closes, so it cannot tell whether the store made anything
/// durable before it was asked to: a backend that also passes `crash` (typically over a
/// `FaultInjectingFileSystem`) runs every case a third time, simulating a power failure at the
/// same points instead, and the suite checks that everything the protocol says is durable at
/// that point survived. Without `crash`, ``durabilityChecked`` is `false` and each call site of
/// ``run(_:fileID:filePath:line:column:)`` prints one line saying so.
///
/// Failed checks are reported through ``ConformanceReporting``: as issues of the running Swift
/// Testing test, at the line that called `run`, with the step of the case that failed in the
/// comment. From XCTest, run the suite inside
/// ``ConformanceReporting/withReporter(_:_:)``, which receives each failed check:
///
/// ```swift
/// try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///     try LogStoreConformance(makeStore: { MemoryLogStore() }).run()
/// }
/// ```
public struct LogStoreConformance<Store: LogStore>: Sendable {
    /// Returns a new, empty store for each case and each pass.
    public let makeStore: @Sendable () throws -> Store
    /// Closes a store and opens it again from its files; `nil` for stores that keep nothing.
    public let reopen: (@Sendable (Store) throws -> Store)?
    /// Simulates a crash: drops everything the store has not made durable and opens the store
    /// again from what survived; the old store is abandoned without ``RaftStorage/LogStore/close()``.
    /// `nil` when the backend cannot simulate one.
    public let crash: (@Sendable (Store) throws -> Store)?

    /// - Parameters:
    ///   - makeStore: returns a new, empty store each time it is called.
    ///   - reopen: for durable stores, closes the given store and returns it opened again.
    ///   - crash: for durable stores that can simulate a power failure, drops what the given
    ///     store has not made durable (without closing it) and returns it opened again from
    ///     what is left; with a `FaultInjectingFileSystem`, `fileSystem.crash(.dropUnsynced)`
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
        /// The case's name, shown in test results.
        public let name: String
        let body: @Sendable (inout LogStoreHarness<Store>) throws -> Void

        /// The name, shown in test results and as a test argument.
        public var description: String { name }
    }

    /// Runs `testCase`; when the suite has a reopen closure, runs it again with restarts, and
    /// when it has a crash closure, once more with simulated crashes. Failed checks are
    /// reported at the caller's location (`fileID`, `filePath`, `line`, `column`; leave the
    /// defaults) through ``ConformanceReporting``.
    public func run(
        _ testCase: Case, fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws {
        try run(testCase, caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    /// Runs every case; see ``run(_:fileID:filePath:line:column:)``.
    public func run(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
        let caller = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        for testCase in Self.cases {
            try run(testCase, caller: caller)
        }
    }

    func run(_ testCase: Case, caller: CheckLocation) throws {
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
        var harness = LogStoreHarness(store: try makeStore(), caseName: testCase.name, restart: restart, caller: caller)
        do {
            try testCase.body(&harness)
            try harness.checkpoint()
        } catch {
            ConformanceReporting.record("\(harness.context): unexpected error: \(error)", caller: caller, step: CheckLocation())
        }
        // Closing is a sync: a store that fails it has not made everything durable. A store the
        // case closed itself, or that a failed restart left closed or abandoned, is left alone.
        guard harness.storeNeedsClose else { return }
        do {
            try harness.store.close()
        } catch {
            ConformanceReporting.record("\(harness.context): close() after the case failed: \(error)", caller: caller, step: CheckLocation())
        }
    }

    /// Every case, in a stable order.
    public static var cases: [Case] {
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
