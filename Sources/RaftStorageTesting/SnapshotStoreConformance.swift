import Dispatch
public import RaftStorage
import Synchronization

/// The conformance suite for ``RaftStorage/SnapshotStore`` backends: save, list, load newest, load newest
/// matching markers, retention, atomic replacement, and setting broken snapshots aside - every
/// rule in ``RaftStorage/SnapshotStore``'s "Implementation requirements".
///
/// It has the shape of every suite of the kit (see ``LogStoreConformance``): `makeStore:`, the
/// optional `reopen:` and `crash:` hooks, ``cases`` for `@Test(arguments:)`, and
/// ``run(_:fileID:filePath:line:column:)`` / ``run(fileID:filePath:line:column:)``:
///
/// ```swift
/// static let suite = SnapshotStoreConformance(
///     makeStore: { try MySnapshots(directory: newTemporaryDirectory()) },
///     reopen: { old in try MySnapshots(directory: old.directory) },
///     corrupt: { store, marker in try flipMiddleBit(of: store.filePath(of: marker)) })
///
/// @Test(arguments: suite.cases)
/// func conformance(_ testCase: SnapshotStoreConformance<MySnapshots>.Case) throws {
///     try Self.suite.run(testCase)
/// }
/// ```
///
/// Each case runs once without restarts, then (with `reopen`) once more with the store opened
/// again from its files at the case's checkpoints, then (with `crash`) once more with a
/// simulated power failure at those points instead. A snapshot store has no `close()`: `reopen`
/// gets the store the suite stops using, `crash` the store as it is. Without `crash`,
/// ``durabilityChecked`` is `false` and each call site prints one line saying so. A durable
/// backend also passes `corrupt` (damage the stored snapshot with the given marker so that it
/// fails verification, for example by flipping a byte in its file, durably, as a bad sector
/// would); the broken-file cases are in ``cases`` only then.
///
/// Failed checks are reported through ``ConformanceReporting``: as issues of the running Swift
/// Testing test, at the line that called `run`, naming the suite, the store type, the case, the
/// run and the case's failing step. From XCTest, run the suite inside
/// ``ConformanceReporting/withReporter(_:_:)``:
///
/// ```swift
/// try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///     try SnapshotStoreConformance(makeStore: { MemorySnapshotStore() }).run()
/// }
/// ```
public struct SnapshotStoreConformance<Store: SnapshotStore>: ConformanceSuite, Sendable {
    /// Returns a new, empty store for each run of each case.
    public let makeStore: @Sendable () throws -> Store
    /// Opens a store again from its files; `nil` for stores that keep nothing.
    public let reopen: (@Sendable (Store) throws -> Store)?
    /// Simulates a crash: drops everything the store has not made durable and opens it again
    /// from what survived; `nil` when the backend cannot simulate one.
    public let crash: (@Sendable (Store) throws -> Store)?
    /// Damages the stored snapshot at a marker; `nil` leaves the broken-file cases out.
    public let corrupt: (@Sendable (Store, SnapshotMarker) throws -> Void)?

    /// - Parameters:
    ///   - makeStore: returns a new, empty store each time it is called (once per run of a case).
    ///   - reopen: for durable stores: gets a store the suite no longer uses and returns it
    ///     opened again from its files.
    ///   - crash: for durable stores that can simulate a power failure: gets the store, drops
    ///     what it has not made durable and returns it opened again from what is left; with a
    ///     `FaultInjectingFileSystem`, `fileSystem.crash(.dropUnsynced)` and then the same open
    ///     call as `reopen`.
    ///   - corrupt: for file-based stores: makes the stored snapshot at the marker fail to
    ///     verify, durably; adds the broken-file cases to ``cases``.
    public init(
        makeStore: @escaping @Sendable () throws -> Store,
        reopen: (@Sendable (Store) throws -> Store)? = nil,
        crash: (@Sendable (Store) throws -> Store)? = nil,
        corrupt: (@Sendable (Store, SnapshotMarker) throws -> Void)? = nil
    ) {
        self.makeStore = makeStore
        self.reopen = reopen
        self.crash = crash
        self.corrupt = corrupt
    }

    /// Whether runs check durability across simulated crashes: `true` when the suite has a
    /// ``crash`` closure.
    public var durabilityChecked: Bool { crash != nil }

    /// One named case.
    public struct Case: Sendable, CustomStringConvertible {
        /// The case's name, shown in test results and in every failure of the case.
        public let name: String
        let needsCorruption: Bool
        let body: @Sendable (inout Harness) throws -> Void

        /// The name, shown in test results and as a test argument.
        public var description: String { name }
    }

    /// How a harness restarts the store.
    enum Restart {
        case reopen(@Sendable (Store) throws -> Store)
        case crash(@Sendable (Store) throws -> Store)
    }

    /// The context a case runs in.
    public struct Harness {
        /// The store the case works on (a new one after each restart at
        /// ``checkpoint(fileID:filePath:line:column:)``).
        public private(set) var store: Store
        let restart: Restart?
        let corruptStore: (@Sendable (Store, SnapshotMarker) throws -> Void)?
        /// The line that ran the suite: where failed checks are reported.
        let caller: CheckLocation

        /// Whether this run restarts through simulated crashes rather than reopens.
        public var crashing: Bool {
            if case .some(.crash) = restart { true } else { false }
        }

        /// Opens the store again (reopen run) or crashes it (crash run); does nothing in the plain
        /// run. A restart that fails is reported at `fileID`, `filePath`, `line` and `column`
        /// (leave the defaults: the case's line) and ends the run.
        public mutating func checkpoint(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
            let step = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
            switch restart {
            case nil:
                return
            case .some(.reopen(let reopen)):
                do {
                    store = try reopen(store)
                } catch {
                    throw ConformanceStepError(message: "the reopen hook threw: \(error)", step: step)
                }
            case .some(.crash(let crash)):
                do {
                    store = try crash(store)
                } catch {
                    throw ConformanceStepError(message: "the crash hook threw: \(error)", step: step)
                }
            }
        }

        /// Damages the stored snapshot at `marker`.
        public func corrupt(_ marker: SnapshotMarker) throws {
            try corruptStore?(store, marker)
        }

        /// The markers the store lists after a checkpoint that followed `retainNewest`, less any
        /// of `removed` in the crash run: the protocol makes saves durable on return, not
        /// removals, so a crash may bring a removed snapshot back.
        func listedAfterRetention(removed: [SnapshotMarker]) throws -> [SnapshotMarker] {
            let listed = try store.list()
            return crashing ? listed.filter { !removed.contains($0) } : listed
        }

        /// Records an issue naming `what` unless `actual` equals `expected`; the issue names the
        /// step at `fileID`, `filePath`, `line` and `column` (leave the defaults: the case's line).
        public func equal<T: Equatable>(
            _ actual: T, _ expected: T, _ what: @autoclosure () -> String,
            fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
        ) {
            ConformanceReporting.checkEqual(
                actual, expected, what(), caller: caller,
                step: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
        }
    }

    /// The cases this suite runs, in a stable order: all of them when it can corrupt files
    /// (``corrupt``), else those that need not. Pass them to `@Test(arguments:)` and each to
    /// ``run(_:fileID:filePath:line:column:)``.
    public var cases: [Case] {
        Self.allCases.filter { corrupt != nil || !$0.needsCorruption }
    }

    /// Runs `testCase` for `caller`; see ``ConformanceSuite``.
    public func run(_ testCase: Case, caller: CheckLocation) throws {
        if testCase.needsCorruption && corrupt == nil {
            let scope = ConformanceScope(suite: "SnapshotStoreConformance", backend: "\(Store.self)", testCase: testCase.name, run: .plain)
            ConformanceReporting.withScope(scope) {
                ConformanceReporting.record(
                    "the case needs the suite's `corrupt:` hook; run the suite's `cases`", caller: caller, step: CheckLocation())
            }
            return
        }
        try runOnce(testCase, restart: nil, caller: caller)
        if let reopen { try runOnce(testCase, restart: .reopen(reopen), caller: caller) }
        if let crash {
            try runOnce(testCase, restart: .crash(crash), caller: caller)
        } else {
            DurabilityNotice.unchecked(suite: "SnapshotStoreConformance", store: "\(Store.self)", caller: caller)
        }
    }

    private func runOnce(_ testCase: Case, restart: Restart?, caller: CheckLocation) throws {
        let run: ConformanceRun = switch restart {
        case nil: .plain
        case .some(.reopen): .reopen
        case .some(.crash): .crash
        }
        try ConformanceReporting.inRun(
            of: "SnapshotStoreConformance", backendType: "\(Store.self)", testCase: testCase.name, run: run,
            make: makeStore, name: { backendName($0) }
        ) { store in
            var harness = Harness(store: store, restart: restart, corruptStore: corrupt, caller: caller)
            do {
                try testCase.body(&harness)
            } catch {
                ConformanceReporting.recordThrown(error, caller: caller, step: CheckLocation())
            }
        }
    }

    static func testCase(_ name: String, corrupting: Bool = false, _ body: @escaping @Sendable (inout Harness) throws -> Void) -> Case {
        Case(name: name, needsCorruption: corrupting, body: body)
    }

    /// Every case, in a stable order.
    static var allCases: [Case] { basicCases + matchingCases + retentionCases + brokenCases }
}

/// A snapshot at (`index`, `term`) with a payload that names it.
public func makeSnapshot(index: UInt64, term: UInt64, voters: [UInt64] = [1, 2, 3], size: Int? = nil) -> Snapshot {
    let data = size.map { count in (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(index)) } }
        ?? Array("state at \(index) term \(term)".utf8)
    return Snapshot(data: data, metadata: SnapshotMetadata(confState: ConfState(voters: voters), index: index, term: term))
}

private func marker(_ index: UInt64, _ term: UInt64) -> SnapshotMarker { SnapshotMarker(index: index, term: term) }

extension SnapshotStoreConformance {
    static var basicCases: [Case] {
        [
            testCase("an empty store lists and loads nothing") { h in
                try h.checkpoint()
                h.equal(try h.store.list(), [], "list")
                h.equal(try h.store.loadNewest(), nil, "loadNewest")
                h.equal(try h.store.loadNewest(matching: [.zero, marker(5, 1)]), nil, "loadNewest(matching:)")
            },
            testCase("a saved snapshot loads back whole") { h in
                let snapshot = Snapshot(
                    data: Array("state".utf8),
                    metadata: SnapshotMetadata(
                        confState: ConfState(voters: [1, 2], learners: [3], votersOutgoing: [1, 4], learnersNext: [5], autoLeave: true),
                        index: 42, term: 7))
                try h.store.save(snapshot)
                try h.checkpoint()
                h.equal(try h.store.list(), [marker(42, 7)], "list")
                h.equal(try h.store.loadNewest(), snapshot, "loadNewest")
                h.equal(try h.store.loadNewest(matching: [marker(42, 7)]), snapshot, "loadNewest(matching:)")
            },
            testCase("an empty snapshot is not saved") { h in
                try h.store.save(Snapshot())
                try h.store.save(Snapshot(data: [1], metadata: SnapshotMetadata(index: 0, term: 3)))
                try h.checkpoint()
                h.equal(try h.store.list(), [], "list")
            },
            testCase("the list is newest first by term, then index") { h in
                for (index, term) in [(20, 2), (10, 1), (31, 3), (30, 2)] as [(UInt64, UInt64)] {
                    try h.store.save(makeSnapshot(index: index, term: term))
                }
                try h.checkpoint()
                h.equal(try h.store.list(), [marker(31, 3), marker(30, 2), marker(20, 2), marker(10, 1)], "list")
                h.equal(try h.store.loadNewest(), makeSnapshot(index: 31, term: 3), "loadNewest")
            },
            testCase("saving the same marker again replaces the snapshot") { h in
                try h.store.save(makeSnapshot(index: 5, term: 1))
                let replacement = Snapshot(data: Array("replacement".utf8), metadata: SnapshotMetadata(confState: ConfState(voters: [9]), index: 5, term: 1))
                try h.store.save(replacement)
                try h.checkpoint()
                h.equal(try h.store.list(), [marker(5, 1)], "list")
                h.equal(try h.store.loadNewest(), replacement, "loadNewest")
            },
            testCase("nil and empty data are kept apart") { h in
                let none = Snapshot(data: nil, metadata: SnapshotMetadata(index: 1, term: 1))
                let empty = Snapshot(data: [], metadata: SnapshotMetadata(index: 2, term: 1))
                try h.store.save(none)
                try h.store.save(empty)
                try h.checkpoint()
                h.equal(try h.store.loadNewest(matching: [marker(1, 1)]), none, "nil data")
                h.equal(try h.store.loadNewest(matching: [marker(2, 1)]), empty, "empty data")
            },
            testCase("a large snapshot round trips") { h in
                var random = SeededGenerator(seed: 42)
                let data = (0..<(8 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
                let snapshot = Snapshot(data: data, metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 1000, term: 4))
                try h.store.save(snapshot)
                try h.checkpoint()
                h.equal(try h.store.loadNewest() == snapshot, true, "8 MiB snapshot equal")
            },
            testCase("concurrent saves and loads") { h in
                let store = h.store
                // The workers run on other threads, outside the task that runs the case: they
                // only collect failures, which the case checks on its own task once they are done
                // (ConformanceReporting reports there).
                // Worker w saves (w * 100 + 1 ... w * 100 + 10, term 1) in order, loading the newest
                // after each save: that is a snapshot some worker saved, whole, and at least as new
                // as the one this worker just saved.
                let saved = Set((0..<4).flatMap { worker in (1...10).map { UInt64(worker * 100 + $0) } })
                let failures = Mutex<[String]>([])
                let loads = Atomic<Int>(0)
                DispatchQueue.concurrentPerform(iterations: 4) { worker in
                    for step in 0..<10 {
                        let index = UInt64(worker * 100 + step + 1)
                        do {
                            try store.save(makeSnapshot(index: index, term: 1))
                        } catch {
                            failures.withLock { $0.append("save \(index): \(error)") }
                            continue
                        }
                        do {
                            guard let loaded = try store.loadNewest() else {
                                failures.withLock { $0.append("loadNewest after saving \(index) found nothing") }
                                continue
                            }
                            let marker = loaded.metadata.marker
                            if !saved.contains(marker.index) || loaded != makeSnapshot(index: marker.index, term: 1) {
                                failures.withLock { $0.append("loadNewest after saving \(index) returned \(loaded.metadata), never saved whole") }
                            } else if marker.index < index {
                                failures.withLock { $0.append("loadNewest after saving \(index) returned the older \(marker)") }
                            }
                            loads.add(1, ordering: .relaxed)
                        } catch {
                            failures.withLock { $0.append("loadNewest after saving \(index): \(error)") }
                        }
                    }
                }
                h.equal(failures.withLock { Array($0.prefix(5)) }, [], "concurrent saves and loads")
                h.equal(loads.load(ordering: .relaxed), 40, "loads that returned a snapshot")
                try h.checkpoint()
                h.equal(try h.store.list().count, 40, "snapshots stored")
                h.equal(try h.store.loadNewest(), makeSnapshot(index: 310, term: 1), "loadNewest")
            },
        ]
    }

    static var matchingCases: [Case] {
        [
            testCase("loadNewest(matching:) picks the newest matching snapshot") { h in
                for index in [10, 20, 30, 40] as [UInt64] { try h.store.save(makeSnapshot(index: index, term: 2)) }
                try h.checkpoint()
                let loaded = try h.store.loadNewest(matching: [.zero, marker(10, 2), marker(30, 2)])
                h.equal(loaded, makeSnapshot(index: 30, term: 2), "newest matching")
                h.equal(try h.store.list().count, 4, "newer non-matching snapshots stay")
            },
            testCase("loadNewest(matching:) needs index and term to match") { h in
                try h.store.save(makeSnapshot(index: 10, term: 2))
                try h.checkpoint()
                h.equal(try h.store.loadNewest(matching: [marker(10, 3), marker(11, 2)]), nil, "wrong term or index")
            },
            testCase("loadNewest(matching:) ignores the markers' membership") { h in
                try h.store.save(makeSnapshot(index: 10, term: 2))
                try h.checkpoint()
                let withMembership = SnapshotMarker(index: 10, term: 2, confState: ConfState(voters: [7]))
                h.equal(try h.store.loadNewest(matching: [withMembership]), makeSnapshot(index: 10, term: 2), "match")
            },
            testCase("loadNewest(matching:) with no markers finds nothing") { h in
                try h.store.save(makeSnapshot(index: 10, term: 2))
                h.equal(try h.store.loadNewest(matching: []), nil, "no markers")
            },
        ]
    }

    static var retentionCases: [Case] {
        [
            testCase("retainNewest removes the oldest and returns them") { h in
                for index in [1, 2, 3, 4, 5] as [UInt64] { try h.store.save(makeSnapshot(index: index, term: 1)) }
                let removed = try h.store.retainNewest(2)
                try h.checkpoint()
                h.equal(Set(removed), Set([marker(1, 1), marker(2, 1), marker(3, 1)]), "removed")
                h.equal(try h.listedAfterRetention(removed: removed), [marker(5, 1), marker(4, 1)], "kept")
                h.equal(try h.store.loadNewest(matching: [marker(4, 1)]), makeSnapshot(index: 4, term: 1), "kept one loads")
            },
            testCase("retainNewest always keeps the newest") { h in
                for index in [1, 2] as [UInt64] { try h.store.save(makeSnapshot(index: index, term: 1)) }
                let removed = try h.store.retainNewest(0)
                try h.checkpoint()
                h.equal(try h.listedAfterRetention(removed: removed), [marker(2, 1)], "kept")
            },
            testCase("retainNewest with room for all removes nothing") { h in
                for index in [1, 2, 3] as [UInt64] { try h.store.save(makeSnapshot(index: index, term: 1)) }
                h.equal(try h.store.retainNewest(5), [], "removed")
                h.equal(try h.store.list().count, 3, "kept")
            },
        ]
    }

    static var brokenCases: [Case] {
        [
            testCase("a broken newest snapshot is set aside and the next one loads", corrupting: true) { h in
                for index in [10, 20, 30] as [UInt64] { try h.store.save(makeSnapshot(index: index, term: 1)) }
                try h.corrupt(marker(30, 1))
                h.equal(try h.store.loadNewest(), makeSnapshot(index: 20, term: 1), "loadNewest")
                h.equal(try h.store.list(), [marker(20, 1), marker(10, 1)], "broken snapshot no longer listed")
                try h.checkpoint()
                h.equal(try h.store.loadNewest(matching: [marker(30, 1)]), nil, "broken snapshot does not load")
            },
            testCase("a broken matching snapshot falls back to an older match", corrupting: true) { h in
                for index in [10, 20, 30] as [UInt64] { try h.store.save(makeSnapshot(index: index, term: 1)) }
                try h.corrupt(marker(20, 1))
                let loaded = try h.store.loadNewest(matching: [marker(10, 1), marker(20, 1)])
                h.equal(loaded, makeSnapshot(index: 10, term: 1), "older match")
                h.equal(try h.store.list(), [marker(30, 1), marker(10, 1)], "only the broken one set aside")
            },
            testCase("every snapshot broken loads nothing", corrupting: true) { h in
                try h.store.save(makeSnapshot(index: 10, term: 1))
                try h.corrupt(marker(10, 1))
                h.equal(try h.store.loadNewest(), nil, "loadNewest")
                h.equal(try h.store.list(), [], "list")
                try h.store.save(makeSnapshot(index: 11, term: 1))
                h.equal(try h.store.loadNewest(), makeSnapshot(index: 11, term: 1), "a new save still works")
            },
        ]
    }
}
