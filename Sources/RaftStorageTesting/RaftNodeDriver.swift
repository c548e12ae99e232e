public import RaftStorage

/// Drives a ``RaftStorage/Storage`` like a raft node and checks each restart against a model of what must
/// survive it (in ``StorageConformance``'s plain run, the open storage at each restart point).
public struct RaftNodeDriver<Log: LogStore, Snapshots: SnapshotStore> {
    /// How ``restart(fileID:filePath:line:column:)`` restarts the storage.
    enum Restart {
        /// Close the storage (a sync; the driver), then open the stores again (the hook).
        case reopen(@Sendable (Log, Snapshots) throws -> (Log, Snapshots))
        /// Lose what is not durable and open the stores again, without a sync or a close.
        case crash(@Sendable (Log, Snapshots) throws -> (Log, Snapshots))
    }

    /// The storage under test (a new one after each restart).
    public private(set) var storage: Storage<Log, Snapshots>
    /// Whether ``storage`` is open: `false` from the moment a restart closes or abandons it
    /// until the stores opened again replace it, so after a failed restart.
    private(set) var storageIsOpen = true
    /// Whether restarts are simulated crashes rather than clean closes.
    public var crashing: Bool {
        if case .some(.crash) = restartMode { true } else { false }
    }
    /// How restarts restart the storage; `nil` in the plain run, where a restart point only
    /// checks the open storage against the model.
    let restartMode: Restart?
    let damageNewestSnapshot: (@Sendable (Snapshots) throws -> Void)?
    /// The line that ran the suite: where failed checks are reported.
    let caller: CheckLocation

    // The model.
    private var entries: [Entry] = []
    /// The entries compacted away since the last installed snapshot, oldest first, ending at
    /// `first - 1`: a restart that moves the boundary back (to an older snapshot marker) brings
    /// some of them back, and they must be these.
    private var compacted: [Entry] = []
    /// The last snapshot installed from a leader (the empty log's boundary before any): the
    /// boundary until a compaction moves it, when retention may have dropped the snapshot.
    private var installed = SnapshotMarker.zero
    private var first: UInt64 = 1
    private var hardState = HardState()
    /// The HardState as of the last save or sync that made it durable: a crash may lose the
    /// commit-only changes after it, nothing else.
    private var durableHardState = HardState()
    private var snapshot = Snapshot()
    /// The snapshots the snapshot store holds (local and installed), oldest first: retention
    /// keeps the newest `retainedSnapshots`.
    private var savedSnapshots: [Snapshot] = []
    private var term: UInt64 = 1

    init(
        storage: Storage<Log, Snapshots>, restart: Restart?, damageNewestSnapshot: (@Sendable (Snapshots) throws -> Void)?,
        caller: CheckLocation
    ) {
        self.storage = storage
        self.restartMode = restart
        self.damageNewestSnapshot = damageNewestSnapshot
        self.caller = caller
    }

    /// Reports `message` unless `condition` holds; `step` is the check's line in this file.
    private func expect(_ condition: Bool, _ message: @autoclosure () -> String, step: CheckLocation) {
        ConformanceReporting.check(condition, message(), caller: caller, step: step)
    }

    /// Reports `message` as a failed check at `step`.
    private func fail(_ message: String, step: CheckLocation) {
        ConformanceReporting.record(message, caller: caller, step: step)
    }

    private var last: UInt64 { entries.last?.index ?? first - 1 }

    /// The vote to save in the current term: the one already cast in it, or 1 (a vote, once
    /// cast in a term, never changes within it).
    private var vote: UInt64 { hardState.term == term && hardState.vote != 0 ? hardState.vote : 1 }

    /// Appends `count` entries at the current term and moves the commit index to `commitTo`
    /// entries past the previous last index (capped to the new last index).
    public mutating func append(_ count: UInt64, commitTo advance: UInt64) throws {
        let start = last + 1
        let new = (start..<(start + count)).map { Entry(term: term, index: $0, data: Array("set k\($0) \(term)".utf8)) }
        hardState = HardState(term: term, vote: vote, commit: max(hardState.commit, min(start - 1 + advance, start + count - 1)))
        try storage.save(hardState: hardState, entries: new)
        entries += new
        if !new.isEmpty { durableHardState = hardState }
        try checkIndexes(after: "appending \(count) entries")
    }

    /// Saves a HardState that only moves the commit index forward to `index`; not durable
    /// until the next sync or save that must sync.
    public mutating func commitOnly(to index: UInt64) throws {
        hardState.commit = max(hardState.commit, min(index, last))
        try storage.save(hardState: hardState, entries: [])
        try checkIndexes(after: "a commit-only HardState")
    }

    /// Makes everything saved so far durable.
    public mutating func sync() throws {
        try storage.sync()
        durableHardState = hardState
    }

    /// A new leader replaces the uncommitted entries from `index` with `count` entries of a new term.
    public mutating func replaceTail(from index: UInt64, count: UInt64) throws {
        let start = max(index, hardState.commit + 1, first)
        guard start <= last + 1 else { return try append(count, commitTo: 0) }
        term += 1
        let new = (start..<(start + count)).map { Entry(term: term, index: $0, data: Array("replaced k\($0) \(term)".utf8)) }
        hardState = HardState(term: term, vote: 2, commit: hardState.commit)
        try storage.save(hardState: hardState, entries: new)
        entries.removeAll { $0.index >= start }
        entries += new
        durableHardState = hardState
        try checkIndexes(after: "replacing the tail from \(start)")
    }

    /// Takes a local snapshot at `index` (clamped to what is committed and snapshottable).
    public mutating func snapshot(at index: UInt64) throws {
        let index = min(index, hardState.commit)
        guard index > snapshot.metadata.index, index >= first else { return }
        let confState = ConfState(voters: [1, 2, 3], learners: index % 2 == 0 ? [4] : [])
        let data = Array("state through \(index)".utf8)
        let saved = try storage.createSnapshot(at: index, confState: confState, data: data)
        let expected = Snapshot(data: data, metadata: SnapshotMetadata(confState: confState, index: index, term: termOf(index)))
        expect(saved == expected, "createSnapshot returned \(saved.metadata)", step: CheckLocation())
        snapshot = expected
        savedSnapshots.append(expected)
        // createSnapshot syncs the log.
        durableHardState = hardState
        // Storage compacts up to `retainedEntries` behind the snapshot, but never past the
        // oldest snapshot kept, so a fallback to it finds its entries.
        let retained = storage.options.retainedEntries
        let oldestKept = savedSnapshots.suffix(storage.options.retainedSnapshots).first?.metadata.index ?? index
        if index > retained, min(index - retained, oldestKept) >= first {
            let compactIndex = min(index - retained, oldestKept)
            compacted += entries.filter { $0.index <= compactIndex }
            entries.removeAll { $0.index <= compactIndex }
            first = compactIndex + 1
        }
        savedSnapshots = Array(savedSnapshots.suffix(storage.options.retainedSnapshots))
        try checkIndexes(after: "a snapshot at \(index)")
    }

    /// The leader sends a snapshot `ahead` entries past the last index, at a new term.
    public mutating func installSnapshot(ahead: UInt64) throws {
        term += 1
        let index = last + ahead
        let installed = Snapshot(
            data: Array("leader state through \(index)".utf8),
            metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3, 5]), index: index, term: term))
        hardState = HardState(term: term, vote: 0, commit: index)
        try storage.save(hardState: hardState, entries: [], snapshot: installed)
        snapshot = installed
        savedSnapshots = Array((savedSnapshots + [installed]).suffix(storage.options.retainedSnapshots))
        durableHardState = hardState
        // Entries dropped by an installed snapshot never come back.
        entries = []
        compacted = []
        self.installed = installed.metadata.marker
        first = index + 1
        try checkIndexes(after: "installing a snapshot at \(index)")
    }

    private func termOf(_ index: UInt64) -> UInt64 {
        knownTerm(index) ?? 0
    }

    /// The model's term at `index`, when it knows it: an entry's, a compacted entry's, the
    /// installed snapshot's (term 0 at index 0 before any) or a snapshot's.
    private func knownTerm(_ index: UInt64) -> UInt64? {
        if let entry = entries.first(where: { $0.index == index }) { return entry.term }
        if let entry = compacted.last(where: { $0.index == index }) { return entry.term }
        if index == installed.index { return installed.term }
        if index == snapshot.metadata.index { return snapshot.metadata.term }
        return savedSnapshots.last { $0.metadata.index == index }?.metadata.term
    }

    /// Checks what the protocol fixes right after a write, without a restart: the storage's
    /// first and last index are the model's, and so is the term at the boundary.
    private func checkIndexes(after what: String) throws {
        let label = "after \(what)"
        let storedFirst = try storage.firstIndex()
        let storedLast = try storage.lastIndex()
        expect(storedFirst == first, "\(label): firstIndex \(storedFirst), expected \(first)", step: CheckLocation())
        expect(storedLast == last, "\(label): lastIndex \(storedLast), expected \(last)", step: CheckLocation())
        guard storedFirst == first, let expected = knownTerm(first - 1) else { return }
        let stored = try storage.term(at: first - 1)
        expect(stored == expected, "\(label): term \(stored) at the boundary \(first - 1), expected \(expected)", step: CheckLocation())
    }

    /// Restarts the storage - closes it and reopens the stores, or (in the crash run) crashes
    /// them - recovers, and checks the result against the model; in the plain run, checks the
    /// open storage against the model. A restart that fails is reported at `fileID`,
    /// `filePath`, `line` and `column` (leave the defaults: the workload's line) and ends the run.
    public mutating func restart(fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column) throws {
        let step = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        guard restartMode != nil else { return try check() }
        let (log, snapshots) = try restartStores(damagingNewestSnapshot: false, at: step)
        try recover(log, snapshots, at: step)
        try check()
    }

    /// Restarts like ``restart(fileID:filePath:line:column:)``, but makes the newest snapshot
    /// unreadable first: recovery must set it aside, resume the log at the snapshot before it
    /// and lose no acknowledged entry. Needs the suite's `damageNewestSnapshot` and two
    /// snapshots taken; in the plain run, only checks the open storage like a restart there.
    public mutating func restartWithNewestSnapshotDamaged(
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws {
        let step = CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column)
        guard restartMode != nil else { return try check() }
        let label = "after restarting with the newest snapshot damaged"
        guard savedSnapshots.count >= 2, let damaged = savedSnapshots.last else {
            fail("\(label): the workload took fewer than two snapshots", step: step)
            return
        }
        let (log, snapshots) = try restartStores(damagingNewestSnapshot: true, at: step)
        try recover(log, snapshots, at: step)
        savedSnapshots.removeLast()
        snapshot = savedSnapshots.last!
        let recovery = storage.recovery
        let older = snapshot.metadata.marker
        expect(recovery.snapshot.matches(older), "\(label): recovered at \(recovery.snapshot), expected the older snapshot \(older)", step: CheckLocation())
        expect(recovery.resumedFromOlderMarker, "\(label): recovery did not report resuming from an older marker", step: CheckLocation())
        let setAside = recovery.actions.contains { $0.kind == .snapshotSetAside && $0.snapshot?.matches(damaged.metadata.marker) == true }
        expect(setAside, "\(label): no snapshotSetAside action for \(damaged.metadata.marker) in \(recovery.actions)", step: CheckLocation())
        let storedFirst = try storage.firstIndex()
        expect(storedFirst == older.index + 1, "\(label): firstIndex \(storedFirst), expected \(older.index + 1)", step: CheckLocation())
        try check()
    }

    /// Closes or crashes the stores and opens them again, damaging the newest snapshot before
    /// anything reads it when told to.
    private mutating func restartStores(damagingNewestSnapshot: Bool, at step: CheckLocation) throws -> (Log, Snapshots) {
        guard let restartMode else { return (storage.log, storage.snapshots) }
        let stores: (Log, Snapshots)
        storageIsOpen = false
        switch restartMode {
        case .reopen(let reopen):
            // The suite closes the storage; the hook only opens the stores again.
            do {
                try storage.close()
            } catch {
                throw ConformanceStepError(message: "close() before reopening: \(error)", step: step)
            }
            do {
                stores = try reopen(storage.log, storage.snapshots)
            } catch {
                throw ConformanceStepError(message: "the reopen hook threw: \(error)", step: step)
            }
        case .crash(let crash):
            do {
                stores = try crash(storage.log, storage.snapshots)
            } catch {
                throw ConformanceStepError(message: "the crash hook threw: \(error)", step: step)
            }
        }
        if damagingNewestSnapshot {
            guard let damageNewestSnapshot else {
                throw ConformanceStepError(message: "this workload needs the suite's damageNewestSnapshot hook", step: step)
            }
            do {
                try damageNewestSnapshot(stores.1)
            } catch {
                throw ConformanceStepError(message: "the damageNewestSnapshot hook threw: \(error)", step: step)
            }
        }
        return stores
    }

    /// Recovers a storage from the stores a restart opened again.
    private mutating func recover(_ log: Log, _ snapshots: Snapshots, at step: CheckLocation) throws {
        do {
            storage = try Storage(log: log, snapshots: snapshots, options: storage.options)
        } catch {
            throw ConformanceStepError(message: "recovery after the \(crashing ? "crash" : "restart") threw: \(error)", step: step)
        }
        storageIsOpen = true
    }

    private mutating func check() throws {
        let label = restartMode == nil ? "at a restart point" : "after \(crashing ? "crash" : "restart")"
        let state = try storage.initialState()
        if crashing {
            // Only commit-only changes since the last durable save or sync may be lost.
            let kept = state.hardState.term == hardState.term && state.hardState.vote == hardState.vote
                && state.hardState.commit >= durableHardState.commit && state.hardState.commit <= hardState.commit
            expect(kept, "\(label): hardState \(state.hardState), expected \(hardState) (commit at least \(durableHardState.commit))", step: CheckLocation())
            hardState = state.hardState
        } else {
            expect(state.hardState == hardState, "\(label): hardState \(state.hardState), expected \(hardState)", step: CheckLocation())
        }
        durableHardState = hardState
        expect(state.confState == snapshot.metadata.confState, "\(label): confState \(state.confState), expected \(snapshot.metadata.confState)", step: CheckLocation())
        expect(storage.snapshotMetadata == snapshot.metadata, "\(label): snapshot \(storage.snapshotMetadata), expected \(snapshot.metadata)", step: CheckLocation())
        if !snapshot.isEmpty {
            expect(try storage.snapshot() == snapshot, "\(label): snapshot data differs", step: CheckLocation())
        }
        let storedLast = try storage.lastIndex()
        expect(storedLast == last, "\(label): lastIndex \(storedLast), expected \(last)", step: CheckLocation())
        let storedFirst = try storage.firstIndex()
        guard storedFirst > 0 else {
            fail("\(label): firstIndex 0", step: CheckLocation())
            return
        }
        // The restart rule: the log restarts at its newest snapshot marker (the recovered
        // snapshot), so entries kept behind it may be gone and compaction past it undone - the
        // first index lies between the model's and the snapshot's next index, both included.
        let afterSnapshot = snapshot.metadata.index + 1
        let (lowest, highest) = (min(first, afterSnapshot), max(first, afterSnapshot))
        expect(storedFirst <= highest, "\(label): firstIndex \(storedFirst) beyond \(highest): entries lost", step: CheckLocation())
        expect(storedFirst >= lowest, "\(label): firstIndex \(storedFirst) before \(lowest): the log restarted before its snapshot and its compaction", step: CheckLocation())
        // The model knows the term at every index a correct restart can put the boundary at.
        if let expected = knownTerm(storedFirst - 1) {
            let stored = try storage.term(at: storedFirst - 1)
            expect(stored == expected, "\(label): term \(stored) at the boundary \(storedFirst - 1), expected \(expected)", step: CheckLocation())
        } else {
            fail("\(label): the log restarted after \(storedFirst - 1), where the model knows no entry or snapshot", step: CheckLocation())
        }
        let common = max(first, storedFirst)
        if common <= last {
            let stored = try storage.entries(in: common..<(last + 1))
            expect(stored == entries.filter { $0.index >= common }, "\(label): entries from \(common) differ", step: CheckLocation())
        }
        if storedFirst > first {
            // Entries behind the new boundary are gone from the log, but a later fallback to an
            // older snapshot may bring them back.
            compacted += entries.filter { $0.index < storedFirst }
            entries.removeAll { $0.index < storedFirst }
        }
        if storedFirst < first {
            // The boundary moved back: the entries it brought back must be the acknowledged
            // ones the model compacted, not whatever the store returns.
            let revived = compacted.filter { $0.index >= storedFirst }
            let stored = storedLast >= first - 1 ? try storage.entries(in: storedFirst..<first) : []
            expect(stored == revived, "\(label): entries \(storedFirst)..<\(first) brought back by the restart differ from the acknowledged ones", step: CheckLocation())
            compacted.removeAll { $0.index >= storedFirst }
            entries = revived + entries
        }
        first = storedFirst
        let kept = try storage.snapshots.list()
        expect(kept.count <= storage.options.retainedSnapshots, "\(label): \(kept.count) snapshots kept", step: CheckLocation())
    }

    /// A random mix of the operations above, with restarts.
    public mutating func randomWorkload(seed: UInt64, steps: Int) throws {
        var random = SeededGenerator(seed: seed)
        for _ in 0..<steps {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<40: try append(UInt64.random(in: 1...8, using: &random), commitTo: UInt64.random(in: 0...8, using: &random))
            case 40..<52: try commitOnly(to: hardState.commit + UInt64.random(in: 1...5, using: &random))
            case 52..<62: try replaceTail(from: saturatingSubtract(last, UInt64.random(in: 0...4, using: &random)), count: UInt64.random(in: 1...5, using: &random))
            case 62..<77: try snapshot(at: saturatingSubtract(hardState.commit, UInt64.random(in: 0...3, using: &random)))
            case 77..<82: try installSnapshot(ahead: UInt64.random(in: 1...6, using: &random))
            default: try restart()
            }
        }
    }
}

private func saturatingSubtract(_ value: UInt64, _ amount: UInt64) -> UInt64 {
    value > amount ? value - amount : 0
}
