import Dispatch
public import RaftStorage
import Synchronization

/// The conformance suite for ``RaftStorage/SnapshotStore`` backends: save, list, load newest, load newest
/// matching markers, retention, atomic replacement, and setting broken snapshots aside - every
/// rule in ``RaftStorage/SnapshotStore``'s "Implementation requirements".
///
/// ```swift
/// @Test func conformance() throws {
///     try SnapshotStoreConformance(makeStore: { MemorySnapshotStore() }).run()
/// }
/// ```
///
/// Durable backends pass `reopen` (close and open again from the files) and `corrupt` (damage
/// the stored snapshot with the given marker so that it fails verification, for example by
/// flipping a byte in its file); the broken-file cases run only when `corrupt` is given.
///
/// Failed checks are reported through ``ConformanceReporting``: as issues of the running Swift
/// Testing test, at the line that called `run`, naming the case's failing step. From XCTest,
/// run the suite inside ``ConformanceReporting/withReporter(_:_:)``:
///
/// ```swift
/// try ConformanceReporting.withReporter({ issue in XCTFail("\(issue) (run from \(issue.caller))") }) {
///     try SnapshotStoreConformance(makeStore: { MemorySnapshotStore() }).run()
/// }
/// ```
public struct SnapshotStoreConformance<Store: SnapshotStore>: Sendable {
    /// Returns a new, empty store for each case.
    public let makeStore: @Sendable () throws -> Store
    /// Closes a store and opens it again from its files; `nil` for stores that keep nothing.
    public let reopen: (@Sendable (Store) throws -> Store)?
    /// Damages the stored snapshot at a marker; `nil` skips the broken-file cases.
    public let corrupt: (@Sendable (Store, SnapshotMarker) throws -> Void)?

    /// A suite over the given closures; see the type's discussion.
    public init(
        makeStore: @escaping @Sendable () throws -> Store,
        reopen: (@Sendable (Store) throws -> Store)? = nil,
        corrupt: (@Sendable (Store, SnapshotMarker) throws -> Void)? = nil
    ) {
        self.makeStore = makeStore
        self.reopen = reopen
        self.corrupt = corrupt
    }

    /// One named case.
    public struct Case: Sendable, CustomStringConvertible {
        /// The case's name, shown in test results.
        public let name: String
        let needsCorruption: Bool
        let body: @Sendable (inout Harness) throws -> Void

        /// The name, shown in test results and as a test argument.
        public var description: String { name }
    }

    /// The context a case runs in.
    public struct Harness {
        /// The store the case works on (a new one after each ``checkpoint()``).
        public private(set) var store: Store
        let reopen: (@Sendable (Store) throws -> Store)?
        let corruptStore: (@Sendable (Store, SnapshotMarker) throws -> Void)?
        let context: String
        /// The line that ran the suite: where failed checks are reported.
        let caller: CheckLocation

        /// Closes and reopens the store when the suite has a reopen closure.
        public mutating func checkpoint() throws {
            if let reopen { store = try reopen(store) }
        }

        /// Damages the stored snapshot at `marker`.
        public func corrupt(_ marker: SnapshotMarker) throws {
            try corruptStore?(store, marker)
        }

        /// Records an issue naming `what` unless `actual` equals `expected`; the issue names the
        /// step at `fileID`, `filePath`, `line` and `column` (leave the defaults: the case's line).
        public func equal<T: Equatable>(
            _ actual: T, _ expected: T, _ what: @autoclosure () -> String,
            fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
        ) {
            ConformanceReporting.checkEqual(
                actual, expected, "\(context): \(what())", caller: caller,
                step: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
        }
    }

    /// The cases this suite runs: all of them when it can corrupt files, else those that need not.
    public var applicableCases: [Case] {
        Self.cases.filter { corrupt != nil || !$0.needsCorruption }
    }

    /// Runs `testCase` (plain, and again with reopens when there is a reopen closure). A case
    /// that needs corruption is reported as an issue when the suite has no `corrupt` closure.
    /// Failed checks are reported at the caller's location (`fileID`, `filePath`, `line`,
    /// `column`; leave the defaults) through ``ConformanceReporting``.
    public func run(
        _ testCase: Case, fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws {
        try run(testCase, caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    /// Runs every applicable case; see ``run(_:fileID:filePath:line:column:)``.
    public func run(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
        let caller = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        for testCase in applicableCases { try run(testCase, caller: caller) }
    }

    func run(_ testCase: Case, caller: CheckLocation) throws {
        if testCase.needsCorruption && corrupt == nil {
            ConformanceReporting.record(
                "\(testCase.name) needs a `corrupt` closure; run `applicableCases` instead", caller: caller, step: CheckLocation())
            return
        }
        try runOnce(testCase, reopen: nil, caller: caller)
        if let reopen { try runOnce(testCase, reopen: reopen, caller: caller) }
    }

    private func runOnce(_ testCase: Case, reopen: (@Sendable (Store) throws -> Store)?, caller: CheckLocation) throws {
        var harness = Harness(
            store: try makeStore(), reopen: reopen, corruptStore: corrupt,
            context: "\(testCase.name)\(reopen != nil ? " [reopen]" : "")", caller: caller)
        do {
            try testCase.body(&harness)
        } catch {
            ConformanceReporting.record("\(harness.context): unexpected error: \(error)", caller: caller, step: CheckLocation())
        }
    }

    static func testCase(_ name: String, corrupting: Bool = false, _ body: @escaping @Sendable (inout Harness) throws -> Void) -> Case {
        Case(name: name, needsCorruption: corrupting, body: body)
    }

    /// Every case, in a stable order.
    public static var cases: [Case] { basicCases + matchingCases + retentionCases + brokenCases }
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
                h.equal(try h.store.list(), [marker(5, 1), marker(4, 1)], "kept")
                h.equal(try h.store.loadNewest(matching: [marker(4, 1)]), makeSnapshot(index: 4, term: 1), "kept one loads")
            },
            testCase("retainNewest always keeps the newest") { h in
                for index in [1, 2] as [UInt64] { try h.store.save(makeSnapshot(index: index, term: 1)) }
                try h.store.retainNewest(0)
                try h.checkpoint()
                h.equal(try h.store.list(), [marker(2, 1)], "kept")
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
