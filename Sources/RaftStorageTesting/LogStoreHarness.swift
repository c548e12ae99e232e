public import RaftStorage

/// The context a ``LogStoreConformance`` case runs in: the store under test and, for durable
/// backends, the restart step.
///
/// A case calls ``checkpoint(fileID:filePath:line:column:)`` after its setup. In the plain run
/// that does nothing. In the reopen run it syncs and closes the store, has the suite's `reopen`
/// hook open it again, and checks that the reopened store holds what the old one did (see
/// ``RaftStorage/LogStore``'s restart requirements). In the crash run it neither syncs nor
/// closes: it hands the open store to the suite's `crash` hook and checks that what the protocol
/// makes durable without a sync survived - every entry, the term and vote, snapshot markers -
/// while a commit-only change may be lost. The runner checkpoints once more after the case, so
/// the outcome of the operation under test is checked across a restart as well.
///
/// Its checks (``equal(_:_:_:fileID:filePath:line:column:)``,
/// ``expectError(_:_:fileID:filePath:line:column:_:)``,
/// ``expectLog(first:last:terms:_:fileID:filePath:line:column:)``) report through
/// ``ConformanceReporting`` at the line that ran the suite, naming the case's line that made
/// the check as the step.
public struct LogStoreHarness<Store: LogStore> {
    /// How checkpoints restart the store.
    enum Restart {
        /// Sync and close (the harness), then open again (the hook).
        case reopen(@Sendable (Store) throws -> Store)
        /// Lose what is not durable and open again, without a sync or a close.
        case crash(@Sendable (Store) throws -> Store)
    }

    /// The store under test; replaced by the reopened one at each checkpoint.
    public private(set) var store: Store
    /// Whether this run restarts the store at checkpoints (the reopen run and the crash run).
    public let reopening: Bool
    /// Whether this run restarts through simulated crashes rather than clean closes.
    public let crashing: Bool
    /// The line that ran the suite: where failed checks are reported.
    let caller: CheckLocation
    private let restart: Restart?
    /// What the store held when the case closed it through ``close()``: the next checkpoint
    /// expects all of it back, a close being a sync.
    private var closedState: LogState?
    /// Set while a restart hands the store to the backend's closure, and left set when that
    /// closure fails: the old store is then closed (reopen) or abandoned (crash).
    private var handedOff = false

    init(store: Store, restart: Restart?, caller: CheckLocation) {
        self.store = store
        self.restart = restart
        switch restart {
        case nil: (reopening, crashing) = (false, false)
        case .reopen: (reopening, crashing) = (true, false)
        case .crash: (reopening, crashing) = (true, true)
        }
        self.caller = caller
    }

    /// Whether the runner still has to close ``store`` after the case: not when the case
    /// closed it through ``close()`` (and no restart opened it again since), nor when a restart
    /// failed after handing it to the backend's closure.
    var storeNeedsClose: Bool { closedState == nil && !handedOff }

    /// Restarts the store (in the reopen and crash runs) and checks that nothing durable was
    /// lost. In the crash run nothing is synced first: call it right after operations that are
    /// durable on return. A restart that fails is reported at `fileID`, `filePath`, `line` and
    /// `column` (leave the defaults: the case's line) and ends the run.
    public mutating func checkpoint(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
        try restartAndCheck(synced: false, at: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    /// Syncs the store, then restarts it like ``checkpoint(fileID:filePath:line:column:)``; in the
    /// crash run everything saved before the sync must survive, commit-only HardState changes
    /// included.
    public mutating func syncAndCheckpoint(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
        try store.sync()
        try restartAndCheck(synced: true, at: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    /// Closes the store, remembering what it held, so the next checkpoint (the runner's final
    /// one at the latest) checks that all of it is back; the store is open again after that
    /// checkpoint in the reopen and crash runs, and stays closed in the plain run.
    public mutating func close() throws {
        if closedState == nil { closedState = try LogState(store) }
        try store.close()
    }

    private mutating func restartAndCheck(synced: Bool, at step: CheckLocation) throws {
        guard let restart else { return }
        let before: LogState
        var everythingDurable = true
        if let closedState {
            before = closedState
        } else {
            switch restart {
            case .reopen: try store.sync()
            case .crash: everythingDurable = synced
            }
            before = try LogState(store)
        }
        handedOff = true
        switch restart {
        case .reopen(let reopen):
            // The suite closes the store (unless the case did); the hook only opens it again.
            if closedState == nil {
                do {
                    try store.close()
                } catch {
                    throw ConformanceStepError(message: "close() before reopening: \(error)", step: step)
                }
            }
            do {
                store = try reopen(store)
            } catch {
                throw ConformanceStepError(message: "the reopen hook threw: \(error)", step: step)
            }
        case .crash(let crash):
            do {
                store = try crash(store)
            } catch {
                throw ConformanceStepError(message: "the crash hook threw: \(error)", step: step)
            }
        }
        handedOff = false
        closedState = nil
        let after = try LogState(store)
        before.checkRestart(to: after, commitMayBeLost: !everythingDurable, label: "after \(crashing ? "crash" : "reopen")", caller: caller, step: step)
    }

    /// Records an issue unless `actual == expected`; the issue names the step at `fileID`,
    /// `filePath`, `line` and `column` (leave the defaults: the case's line).
    public func equal<T: Equatable>(
        _ actual: T, _ expected: T, _ what: @autoclosure () -> String,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) {
        equal(actual, expected, what(), step: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column))
    }

    /// ``equal(_:_:_:fileID:filePath:line:column:)`` with the step given.
    func equal<T: Equatable>(_ actual: T, _ expected: T, _ what: @autoclosure () -> String, step: CheckLocation) {
        ConformanceReporting.checkEqual(actual, expected, what(), caller: caller, step: step)
    }

    /// Records an issue unless `body` throws a ``RaftStorage/StorageError`` with `code`; the
    /// issue names the step at `fileID`, `filePath`, `line` and `column` (leave the defaults).
    public func expectError<R>(
        _ code: StorageError.Code, _ what: @autoclosure () -> String,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column,
        _ body: (Store) throws -> R
    ) {
        let store = self.store
        ConformanceReporting.checkThrows(
            code, what(), caller: caller,
            step: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        ) { try body(store) }
    }

    /// Checks first and last index and the term of every entry from the first index on; an
    /// issue names the step at `fileID`, `filePath`, `line` and `column` (leave the defaults).
    public func expectLog(
        first: UInt64, last: UInt64, terms: [UInt64], _ what: @autoclosure () -> String = "log",
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws {
        let label = what()
        let step = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        equal(try store.firstIndex(), first, "\(label): firstIndex", step: step)
        equal(try store.lastIndex(), last, "\(label): lastIndex", step: step)
        let stored = first <= last ? try store.entries(in: first..<(last + 1)) : []
        equal(stored.map(\.term), terms, "\(label): terms from \(first)", step: step)
        equal(stored.map(\.index), first <= last ? Array(first...last) : [], "\(label): indexes", step: step)
    }
}

/// What a restart must preserve, captured from a store.
struct LogState {
    var hardState: HardState
    var first: UInt64
    var last: UInt64
    var lastTerm: UInt64
    /// The term at the boundary, `first - 1` (`nil` only for a store that reports first index 0).
    var boundaryTerm: UInt64?
    var entries: [Entry]
    /// ``RaftStorage/LogStore/snapshotMarkers()``: the markers the HardState's commit covers.
    var validMarkers: [SnapshotMarker]
    /// ``RaftStorage/LogStore/snapshotMarker()``: the newest marker, committed or not.
    var marker: SnapshotMarker

    var newestValidMarker: SnapshotMarker? { validMarkers.max { $0.index < $1.index } }

    init(_ store: some LogStore) throws {
        hardState = try store.hardState()
        first = try store.firstIndex()
        last = try store.lastIndex()
        lastTerm = try store.term(at: last)
        boundaryTerm = first > 0 ? try store.term(at: first - 1) : nil
        entries = first <= last ? try store.entries(in: first..<(last + 1)) : []
        validMarkers = try store.snapshotMarkers()
        marker = try store.snapshotMarker()
    }

    /// Checks the store after a restart against this state. With `commitMayBeLost` (a crash
    /// without a sync) only the commit may have gone back: raft's `MustSync` makes every
    /// entry and every change of term or vote durable when the save returns, but not a
    /// commit-only change.
    ///
    /// The first index may move only as `LogStore`'s restart rule allows: a restarted store's
    /// boundary is its newest committed snapshot marker, so entries kept behind that marker may
    /// be gone (the first index moves up to the marker's next index, no further) and compaction
    /// past it may be undone (the first index moves back to the marker's next index, no
    /// further). Where the old first index is that index, it must stay exactly where it was.
    func checkRestart(to after: LogState, commitMayBeLost: Bool, label: String, caller: CheckLocation, step: CheckLocation) {
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            ConformanceReporting.check(condition, message(), caller: caller, step: step)
        }
        if commitMayBeLost {
            let kept = after.hardState.term == hardState.term && after.hardState.vote == hardState.vote
                && after.hardState.commit <= hardState.commit
            check(kept, "\(label): hardState \(after.hardState), expected \(hardState) (only a commit-only change may be lost)")
        } else {
            check(after.hardState == hardState, "\(label): hardState \(after.hardState), expected \(hardState)")
        }
        check(after.last == last, "\(label): lastIndex \(after.last), expected \(last)")
        check(after.lastTerm == lastTerm, "\(label): term at lastIndex \(after.lastTerm), expected \(lastTerm)")
        let newest = newestValidMarker
        let upper = max(first, (newest?.index ?? 0) + 1)
        check(after.first <= upper, "\(label): firstIndex \(after.first) lost entries (was \(first), newest valid snapshot marker \(newest.map(String.init(describing:)) ?? "none"))")
        // A crash that lost a commit-only change may leave a marker uncovered: the store then
        // restarts at the newest marker the surviving commit still covers.
        let reachable = validMarkers.filter { $0.index <= after.hardState.commit }.max { $0.index < $1.index }
        let lower = min(first, (reachable?.index ?? 0) + 1)
        check(after.first >= lower, "\(label): firstIndex \(after.first) is before both the old firstIndex \(first) and the newest committed snapshot marker \(reachable.map(String.init(describing:)) ?? "none"): compaction undone past the marker")
        checkBoundaryTerm(after, label: label, caller: caller, step: step)
        let common = max(first, after.first)
        guard common <= last, after.last == last else { return }
        let expected = entries.drop { $0.index < common }
        let actual = after.entries.drop { $0.index < common }
        check(Array(actual) == Array(expected), "\(label): entries from \(common) differ")
    }

    /// The term at the restarted store's boundary, wherever this state knows it: the old
    /// boundary's term when the boundary stayed, an entry's term when it moved up into the
    /// entries, a recorded marker's term when it moved to that marker.
    private func checkBoundaryTerm(_ after: LogState, label: String, caller: CheckLocation, step: CheckLocation) {
        guard after.first > 0, let stored = after.boundaryTerm else {
            ConformanceReporting.record("\(label): firstIndex 0 after the restart", caller: caller, step: step)
            return
        }
        let boundary = after.first - 1
        let expected: UInt64?
        if after.first == first {
            expected = boundaryTerm
        } else if let entry = entries.first(where: { $0.index == boundary }) {
            expected = entry.term
        } else {
            expected = (validMarkers + [marker]).first { $0.index == boundary }?.term
        }
        guard let expected else { return }
        ConformanceReporting.check(
            stored == expected, "\(label): term \(stored) at the boundary \(boundary), expected \(expected)", caller: caller, step: step)
    }
}
