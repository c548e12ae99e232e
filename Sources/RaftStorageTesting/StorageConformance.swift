public import RaftStorage

/// The conformance suite for a composed ``RaftStorage/Storage``: after any sequence of saves, local
/// snapshots with compaction, installed leader snapshots and tail truncations, closing and
/// reopening yields the same HardState, entries and snapshot.
///
/// It drives the storage like a raft node would (appends at the leader's term, commit
/// advances, conflicting tails replaced above the commit index, snapshots of applied state)
/// and checks every restart against a model.
///
/// ```swift
/// let suite = StorageConformance(
///     make: { (try WALLogStore.open(at: dir), MemorySnapshotStore()) },
///     reopen: { log, snapshots in (try WALLogStore.open(at: dir), snapshots) })
/// @Test(arguments: suite.cases) func restart(_ testCase: ...Case) throws { try suite.run(testCase) }
/// ```
///
/// A restart closes the storage, which syncs the log, so it cannot tell whether the stores made
/// anything durable before they were asked to. Stores that can simulate a power failure (for
/// example over a `FaultInjectingFileSystem`) also pass `crash`: every workload then runs a
/// second time, on new stores, with each restart replaced by a crash, and the suite checks that
/// everything acknowledged as durable survived. Without `crash`, ``durabilityChecked`` is
/// `false` and each call site of ``run(_:fileID:filePath:line:column:)`` prints one line saying so.
///
/// File-based snapshot stores also pass `damageNewestSnapshot`, which enables the
/// ``damageCases``: recovery must fall back to the older snapshot when the newest one is unreadable.
///
/// Failed checks are reported through ``ConformanceReporting``: as issues of the running Swift
/// Testing test, at the line that called `run`, naming the driver's check that failed. From
/// XCTest, run the suite inside ``ConformanceReporting/withReporter(_:_:)``:
///
/// ```swift
/// try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///     try suite.run()
/// }
/// ```
public struct StorageConformance<Log: LogStore, Snapshots: SnapshotStore>: Sendable {
    /// Returns a new, empty log and snapshot store for each case and each pass.
    public let make: @Sendable () throws -> (Log, Snapshots)
    /// Opens the (closed) stores again from their files.
    public let reopen: @Sendable (Log, Snapshots) throws -> (Log, Snapshots)
    /// Simulates a crash: drops everything the stores have not made durable and opens them
    /// again from what survived; the old stores are abandoned without closing them. `nil` when
    /// the backends cannot simulate one.
    public let crash: (@Sendable (Log, Snapshots) throws -> (Log, Snapshots))?
    /// Makes the newest snapshot file of an opened snapshot store unreadable (flips bytes in
    /// it) before the storage recovers from it; `nil` when the store has no files to damage.
    public let damageNewestSnapshot: (@Sendable (Snapshots) throws -> Void)?
    /// The options the storage under test uses: small retention so compaction and snapshot
    /// removal happen often.
    public let options: Storage<Log, Snapshots>.Options

    /// - Parameters:
    ///   - make: returns a new, empty log and snapshot store each time it is called (once per
    ///     case, twice with `crash`).
    ///   - reopen: closes nothing itself; gets the (already closed) stores and returns them
    ///     opened again from their files (a `MemoryLogStore` returns its `reopened()` copy, a
    ///     `MemorySnapshotStore` itself).
    ///   - crash: for stores that can simulate a power failure: drops what the given stores
    ///     have not made durable (without closing them) and returns them opened again from
    ///     what is left; with a `FaultInjectingFileSystem`, `fileSystem.crash(.dropUnsynced)`
    ///     and then the same open calls as `reopen`.
    ///   - damageNewestSnapshot: for file-based snapshot stores: makes the newest snapshot file
    ///     of the given (opened, not yet used) store fail to verify; enables ``damageCases``.
    ///   - options: the storage options under test; small retention by default, so compaction
    ///     and snapshot removal happen often.
    public init(
        make: @escaping @Sendable () throws -> (Log, Snapshots),
        reopen: @escaping @Sendable (Log, Snapshots) throws -> (Log, Snapshots),
        crash: (@Sendable (Log, Snapshots) throws -> (Log, Snapshots))? = nil,
        damageNewestSnapshot: (@Sendable (Snapshots) throws -> Void)? = nil,
        options: Storage<Log, Snapshots>.Options = .init(retainedEntries: 3, retainedSnapshots: 2)
    ) {
        self.make = make
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
        /// The case's name, shown in test results.
        public let name: String
        let steps: @Sendable (inout RaftNodeDriver<Log, Snapshots>) throws -> Void

        /// The name, shown in test results and as a test argument.
        public var description: String { name }
    }

    /// Runs one workload, restarting at its checkpoints and at the end, then (with ``crash``)
    /// again on new stores, crashing at the same points; failed checks are reported at the
    /// caller's location (`fileID`, `filePath`, `line`, `column`; leave the defaults) through
    /// ``ConformanceReporting``.
    public func run(
        _ testCase: Case, fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws {
        try run(testCase, caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    func run(_ testCase: Case, caller: CheckLocation) throws {
        try runOnce(testCase, restart: .reopen(reopen), caller: caller)
        if let crash {
            try runOnce(testCase, restart: .crash(crash), caller: caller)
        } else {
            DurabilityNotice.unchecked(suite: "StorageConformance", store: "\(Log.self), \(Snapshots.self)", caller: caller)
        }
    }

    private func runOnce(_ testCase: Case, restart: RaftNodeDriver<Log, Snapshots>.Restart, caller: CheckLocation) throws {
        let (log, snapshots) = try make()
        let context = if case .crash = restart { "\(testCase.name) [crash]" } else { testCase.name }
        var driver = try RaftNodeDriver(
            storage: Storage(log: log, snapshots: snapshots, options: options), restart: restart,
            damageNewestSnapshot: damageNewestSnapshot, context: context, caller: caller)
        do {
            try testCase.steps(&driver)
            try driver.restart()
        } catch {
            ConformanceReporting.record("\(context): unexpected error: \(error)", caller: caller, step: CheckLocation())
        }
        // Closing syncs the log: a failure is an issue. Stores a failed restart left closed or
        // abandoned are left alone.
        guard driver.storageIsOpen else { return }
        do {
            try driver.storage.close()
        } catch {
            ConformanceReporting.record("\(context): close() after the workload failed: \(error)", caller: caller, step: CheckLocation())
        }
    }

    /// Runs every workload in turn; see ``run(_:fileID:filePath:line:column:)``.
    public func run(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
        let caller = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        for testCase in cases { try run(testCase, caller: caller) }
    }

    /// Scripted workloads, the ``damageCases`` when the suite can damage snapshots, then random
    /// ones (one per seed).
    public var cases: [Case] {
        Self.scripted + (damageNewestSnapshot == nil ? [] : Self.damageCases) + (1...24).map { seed in
            Case(name: "random workload, seed \(seed)") { driver in try driver.randomWorkload(seed: UInt64(seed), steps: 80) }
        }
    }

    /// The workloads that need ``damageNewestSnapshot``: run them with a suite that has it
    /// (``cases`` includes them then).
    public static var damageCases: [Case] {
        [
            Case(name: "fallback when the newest snapshot is unreadable") { driver in
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
