public import RaftStorage

/// The conformance suite for a composed ``RaftStorage/Storage``: after any sequence of saves, local
/// snapshots with compaction, installed leader snapshots and tail truncations, restarting yields
/// the same HardState, entries and snapshot.
///
/// It drives the storage like a raft node would (appends at the leader's term, commit
/// advances, conflicting tails replaced above the commit index, snapshots of applied state)
/// and checks the storage against a model at every restart point of the workload.
///
/// It has the shape of every suite of the kit (see ``LogStoreConformance``): `makeStore:`, the
/// optional `reopen:` and `crash:` hooks, ``cases`` for `@Test(arguments:)`, and
/// ``run(_:fileID:filePath:line:column:)`` / ``run(fileID:filePath:line:column:)``; its store
/// is the pair of a log and a snapshot store:
///
/// ```swift
/// static let suite = StorageConformance(
///     makeStore: { (try WALLogStore.open(at: newTemporaryDirectory()), MemorySnapshotStore()) },
///     reopen: { log, snapshots in (try WALLogStore.open(at: log.directory), snapshots) })   // log is closed already
///
/// @Test(arguments: suite.cases)
/// func restart(_ testCase: StorageConformance<WALLogStore<ProtobufRecordCodec>, MemorySnapshotStore>.Case) throws {
///     try Self.suite.run(testCase)
/// }
/// ```
///
/// Each workload runs once without restarts (each restart point checks the open storage against
/// the model), then (with `reopen`) on new stores with each restart point a restart: the suite
/// closes the storage (which syncs and closes the log; a snapshot store has no close) and
/// `reopen` opens the stores again. A close syncs, so it cannot tell whether the stores made
/// anything durable before they were asked to: stores that can simulate a power failure (for
/// example over a `FaultInjectingFileSystem`) also pass `crash`, and every workload runs once
/// more with each restart a crash of the open stores, checking that everything acknowledged as
/// durable survived. Without `crash`, ``durabilityChecked`` is `false` and each call site of
/// ``run(_:fileID:filePath:line:column:)`` prints one line saying so.
///
/// File-based snapshot stores also pass `damageNewestSnapshot`, which adds the
/// ``damageCases`` to ``cases``: recovery must fall back to the older snapshot when the newest
/// one is unreadable (in the runs with restarts; the plain run checks the workload only).
///
/// Failed checks are reported through ``ConformanceReporting``: as issues of the running Swift
/// Testing test, at the line that called `run`, naming the suite, both store types, the
/// workload, the run and the driver's check that failed. From XCTest, run the suite inside
/// ``ConformanceReporting/withReporter(_:_:)``:
///
/// ```swift
/// try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///     try suite.run()
/// }
/// ```
public struct StorageConformance<Log: LogStore, Snapshots: SnapshotStore>: ConformanceSuite, Sendable {
    /// Returns a new, empty log and snapshot store for each run of each workload.
    public let makeStore: @Sendable () throws -> (Log, Snapshots)
    /// Opens the stores again after the suite closed the storage; `nil` for stores that keep
    /// nothing.
    public let reopen: (@Sendable (Log, Snapshots) throws -> (Log, Snapshots))?
    /// Simulates a crash: drops everything the open stores have not made durable and opens them
    /// again from what survived; the suite abandons the old stores without closing them. `nil`
    /// when the backends cannot simulate one.
    public let crash: (@Sendable (Log, Snapshots) throws -> (Log, Snapshots))?
    /// Makes the newest snapshot file of an opened snapshot store unreadable (flips bytes in
    /// it) before the storage recovers from it; `nil` when the store has no files to damage.
    public let damageNewestSnapshot: (@Sendable (Snapshots) throws -> Void)?
    /// The options the storage under test uses: small retention so compaction and snapshot
    /// removal happen often.
    public let options: Storage<Log, Snapshots>.Options

    /// - Parameters:
    ///   - makeStore: returns a new, empty log and snapshot store each time it is called (once
    ///     per run of a workload).
    ///   - reopen: for durable stores: gets the stores of a storage the suite has closed (the
    ///     log synced and closed) and returns them opened again from their files. It must not
    ///     close them itself. A `MemoryLogStore` returns its `reopened()` copy, a
    ///     `MemorySnapshotStore` itself.
    ///   - crash: for stores that can simulate a power failure: gets the open stores, drops what
    ///     they have not made durable (without closing them) and returns them opened again from
    ///     what is left; with a `FaultInjectingFileSystem`, `fileSystem.crash(.dropUnsynced)`
    ///     and then the same open calls as `reopen`.
    ///   - damageNewestSnapshot: for file-based snapshot stores: makes the newest snapshot file
    ///     of the given (opened, not yet used) store fail to verify; adds ``damageCases`` to
    ///     ``cases``. It needs `reopen` or `crash` to be of use.
    ///   - options: the storage options under test; small retention by default, so compaction
    ///     and snapshot removal happen often.
    public init(
        makeStore: @escaping @Sendable () throws -> (Log, Snapshots),
        reopen: (@Sendable (Log, Snapshots) throws -> (Log, Snapshots))? = nil,
        crash: (@Sendable (Log, Snapshots) throws -> (Log, Snapshots))? = nil,
        damageNewestSnapshot: (@Sendable (Snapshots) throws -> Void)? = nil,
        options: Storage<Log, Snapshots>.Options = .init(retainedEntries: 3, retainedSnapshots: 2)
    ) {
        self.makeStore = makeStore
        self.reopen = reopen
        self.crash = crash
        self.damageNewestSnapshot = damageNewestSnapshot
        self.options = options
    }

    /// Whether runs check durability across simulated crashes: `true` when the suite has a
    /// ``crash`` closure.
    public var durabilityChecked: Bool { crash != nil }

    /// One named workload.
    public struct Case: Sendable, CustomStringConvertible {
        /// The case's name, shown in test results and in every failure of the case.
        public let name: String
        let needsDamage: Bool
        let steps: @Sendable (inout RaftNodeDriver<Log, Snapshots>) throws -> Void

        init(name: String, needsDamage: Bool = false, steps: @escaping @Sendable (inout RaftNodeDriver<Log, Snapshots>) throws -> Void) {
            self.name = name
            self.needsDamage = needsDamage
            self.steps = steps
        }

        /// The name, shown in test results and as a test argument.
        public var description: String { name }
    }

    /// Runs `testCase` for `caller`; see ``ConformanceSuite``.
    public func run(_ testCase: Case, caller: CheckLocation) throws {
        if testCase.needsDamage && damageNewestSnapshot == nil {
            let scope = ConformanceScope(suite: "StorageConformance", backend: Self.backendType, testCase: testCase.name, run: .plain)
            ConformanceReporting.withScope(scope) {
                ConformanceReporting.record(
                    "the workload needs the suite's `damageNewestSnapshot:` hook; run the suite's `cases`", caller: caller,
                    step: CheckLocation())
            }
            return
        }
        try runOnce(testCase, restart: nil, caller: caller)
        if let reopen { try runOnce(testCase, restart: .reopen(reopen), caller: caller) }
        if let crash {
            try runOnce(testCase, restart: .crash(crash), caller: caller)
        } else {
            DurabilityNotice.unchecked(suite: "StorageConformance", store: Self.backendType, caller: caller)
        }
    }

    /// Both store types, as failures name them.
    static var backendType: String { "\(Log.self) + \(Snapshots.self)" }

    private func runOnce(_ testCase: Case, restart: RaftNodeDriver<Log, Snapshots>.Restart?, caller: CheckLocation) throws {
        let run: ConformanceRun = switch restart {
        case nil: .plain
        case .some(.reopen): .reopen
        case .some(.crash): .crash
        }
        let options = self.options
        let damageNewestSnapshot = self.damageNewestSnapshot
        try ConformanceReporting.inRun(
            of: "StorageConformance", backendType: Self.backendType, testCase: testCase.name, run: run,
            make: { () throws -> Storage<Log, Snapshots> in
                let (log, snapshots) = try makeStore()
                return try Storage(log: log, snapshots: snapshots, options: options)
            },
            name: { storage in "\(backendName(storage.log)) + \(backendName(storage.snapshots))" }
        ) { storage in
            var driver = RaftNodeDriver(
                storage: storage, restart: restart, damageNewestSnapshot: damageNewestSnapshot, caller: caller)
            do {
                try testCase.steps(&driver)
                try driver.restart()
            } catch {
                ConformanceReporting.recordThrown(error, caller: caller, step: CheckLocation())
            }
            // Closing syncs the log: a failure is an issue. Stores a failed restart left closed or
            // abandoned are left alone.
            guard driver.storageIsOpen else { return }
            do {
                try driver.storage.close()
            } catch {
                ConformanceReporting.record("close() after the workload: \(error)", caller: caller, step: CheckLocation())
            }
        }
    }

    /// The workloads this suite runs, in a stable order: the scripted ones, the ``damageCases``
    /// when the suite has ``damageNewestSnapshot``, then random ones (one per seed). Pass them to
    /// `@Test(arguments:)` and each to ``run(_:fileID:filePath:line:column:)``.
    public var cases: [Case] {
        Self.scripted + (damageNewestSnapshot == nil ? [] : Self.damageCases) + (1...24).map { seed in
            Case(name: "random workload, seed \(seed)") { driver in try driver.randomWorkload(seed: UInt64(seed), steps: 80) }
        }
    }

    /// The workloads that need ``damageNewestSnapshot``, which ``cases`` holds when the suite
    /// has it: for a test that runs them apart from the others.
    public static var damageCases: [Case] {
        [
            Case(name: "fallback when the newest snapshot is unreadable", needsDamage: true) { driver in
                try driver.append(10, commitTo: 10)
                try driver.snapshot(at: 8)
                try driver.append(6, commitTo: 6)
                try driver.snapshot(at: 14)
                try driver.append(4, commitTo: 4)
                try driver.restartWithNewestSnapshotDamaged()
                try driver.append(3, commitTo: 3)
                try driver.restart()
            },
        ]
    }

    static var scripted: [Case] {
        [
            Case(name: "restart with nothing saved") { driver in try driver.restart() },
            Case(name: "restart after appends and HardState changes") { driver in
                try driver.append(5, commitTo: 3)
                try driver.restart()
                try driver.commitOnly(to: 5)
                try driver.restart()
            },
            Case(name: "restart after a local snapshot and compaction") { driver in
                try driver.append(20, commitTo: 20)
                try driver.snapshot(at: 12)
                try driver.restart()
                try driver.append(5, commitTo: 25)
                try driver.restart()
            },
            Case(name: "restart after installing a leader snapshot") { driver in
                try driver.append(6, commitTo: 4)
                try driver.installSnapshot(ahead: 10)
                try driver.restart()
                try driver.append(3, commitTo: 2)
                try driver.restart()
            },
            Case(name: "restart after replacing an uncommitted tail") { driver in
                try driver.append(10, commitTo: 4)
                try driver.replaceTail(from: 7, count: 2)
                try driver.restart()
                try driver.replaceTail(from: 5, count: 6)
                try driver.restart()
            },
            Case(name: "restart after several snapshots keeps the newest few") { driver in
                for round in UInt64(1)...5 {
                    try driver.append(10, commitTo: 10)
                    try driver.snapshot(at: round * 10 - 2)
                }
                try driver.restart()
            },
            Case(name: "restart twice in a row") { driver in
                try driver.append(8, commitTo: 8)
                try driver.snapshot(at: 6)
                try driver.restart()
                try driver.restart()
            },
            Case(name: "a snapshot, then a leader snapshot, then appends") { driver in
                try driver.append(12, commitTo: 12)
                try driver.snapshot(at: 10)
                try driver.installSnapshot(ahead: 5)
                try driver.append(4, commitTo: 3)
                try driver.restart()
            },
            Case(name: "sync makes a commit-only change durable") { driver in
                try driver.append(6, commitTo: 2)
                try driver.commitOnly(to: 5)
                try driver.sync()
                try driver.restart()
            },
        ]
    }
}
