public import RaftStorage
public import Testing

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
///     reopen: { log, snapshots in try log.close(); return (try WALLogStore.open(at: dir), snapshots) })
/// @Test(arguments: suite.cases) func restart(_ testCase: ...Case) throws { try suite.run(testCase) }
/// ```
public struct StorageConformance<Log: LogStore, Snapshots: SnapshotStore>: Sendable {
    /// Returns a new, empty log and snapshot store for each case.
    public let make: @Sendable () throws -> (Log, Snapshots)
    /// Opens the (closed) stores again from their files.
    public let reopen: @Sendable (Log, Snapshots) throws -> (Log, Snapshots)
    /// The options the storage under test uses: small retention so compaction and snapshot
    /// removal happen often.
    public let options: Storage<Log, Snapshots>.Options

    /// - Parameters:
    ///   - make: returns a new, empty log and snapshot store each time it is called.
    ///   - reopen: closes nothing itself; gets the (already closed) stores and returns them
    ///     opened again from their files (a `MemoryLogStore` returns its `reopened()` copy, a
    ///     `MemorySnapshotStore` itself).
    ///   - options: the storage options under test; small retention by default, so compaction
    ///     and snapshot removal happen often.
    public init(
        make: @escaping @Sendable () throws -> (Log, Snapshots),
        reopen: @escaping @Sendable (Log, Snapshots) throws -> (Log, Snapshots),
        options: Storage<Log, Snapshots>.Options = .init(retainedEntries: 3, retainedSnapshots: 2)
    ) {
        self.make = make
        self.reopen = reopen
        self.options = options
    }

    /// One named workload.
    public struct Case: Sendable, CustomTestStringConvertible, CustomStringConvertible {
        /// The case's name, shown in test results.
        public let name: String
        let steps: @Sendable (inout RaftNodeDriver<Log, Snapshots>) throws -> Void

        public var testDescription: String { name }
        public var description: String { name }
    }

    /// Runs one workload, restarting at its checkpoints and at the end; issues are recorded at `sourceLocation`.
    public func run(_ testCase: Case, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (log, snapshots) = try make()
        var driver = try RaftNodeDriver(
            storage: Storage(log: log, snapshots: snapshots, options: options), reopen: reopen,
            context: testCase.name, sourceLocation: sourceLocation)
        do {
            try testCase.steps(&driver)
            try driver.restart()
        } catch {
            Issue.record("\(testCase.name): unexpected error: \(error)", sourceLocation: sourceLocation)
        }
        try? driver.storage.close()
    }

    /// Runs every workload in turn.
    public func run(sourceLocation: SourceLocation = #_sourceLocation) throws {
        for testCase in cases { try run(testCase, sourceLocation: sourceLocation) }
    }

    /// Scripted workloads, then random ones (one per seed).
    public var cases: [Case] {
        Self.scripted + (1...24).map { seed in
            Case(name: "random workload, seed \(seed)") { driver in try driver.randomWorkload(seed: UInt64(seed), steps: 80) }
        }
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
        ]
    }
}

/// Drives a ``RaftStorage/Storage`` like a raft node and checks each restart against a model of what must
/// survive it.
public struct RaftNodeDriver<Log: LogStore, Snapshots: SnapshotStore> {
    /// The storage under test (a new one after each restart).
    public private(set) var storage: Storage<Log, Snapshots>
    let reopen: @Sendable (Log, Snapshots) throws -> (Log, Snapshots)
    let context: String
    let sourceLocation: SourceLocation

    // The model.
    private var entries: [Entry] = []
    private var first: UInt64 = 1
    private var hardState = HardState()
    private var snapshot = Snapshot()
    private var term: UInt64 = 1

    init(storage: Storage<Log, Snapshots>, reopen: @escaping @Sendable (Log, Snapshots) throws -> (Log, Snapshots), context: String, sourceLocation: SourceLocation) {
        self.storage = storage
        self.reopen = reopen
        self.context = context
        self.sourceLocation = sourceLocation
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
    }

    /// Saves a HardState that only moves the commit index forward to `index`.
    public mutating func commitOnly(to index: UInt64) throws {
        hardState.commit = max(hardState.commit, min(index, last))
        try storage.save(hardState: hardState, entries: [])
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
    }

    /// Takes a local snapshot at `index` (clamped to what is committed and snapshottable).
    public mutating func snapshot(at index: UInt64) throws {
        let index = min(index, hardState.commit)
        guard index > snapshot.metadata.index, index >= first else { return }
        let confState = ConfState(voters: [1, 2, 3], learners: index % 2 == 0 ? [4] : [])
        let data = Array("state through \(index)".utf8)
        let saved = try storage.createSnapshot(at: index, confState: confState, data: data)
        let expected = Snapshot(data: data, metadata: SnapshotMetadata(confState: confState, index: index, term: termOf(index)))
        #expect(saved == expected, "\(context): createSnapshot returned \(saved.metadata)", sourceLocation: sourceLocation)
        snapshot = expected
        let retained = storage.options.retainedEntries
        if index > retained, index - retained >= first {
            let compactIndex = index - retained
            entries.removeAll { $0.index <= compactIndex }
            first = compactIndex + 1
        }
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
        entries = []
        first = index + 1
    }

    private func termOf(_ index: UInt64) -> UInt64 {
        knownTerm(index) ?? 0
    }

    /// The model's term at `index`, when it knows it.
    private func knownTerm(_ index: UInt64) -> UInt64? {
        if let entry = entries.first(where: { $0.index == index }) { return entry.term }
        if index == snapshot.metadata.index { return snapshot.metadata.term }
        return nil
    }

    /// Closes the storage, reopens the stores, recovers, and checks the result against the model.
    public mutating func restart() throws {
        try storage.close()
        let (log, snapshots) = try reopen(storage.log, storage.snapshots)
        storage = try Storage(log: log, snapshots: snapshots, options: storage.options)
        try check()
    }

    private mutating func check() throws {
        let label = "\(context): after restart"
        let state = try storage.initialState()
        #expect(state.hardState == hardState, "\(label): hardState \(state.hardState), expected \(hardState)", sourceLocation: sourceLocation)
        #expect(state.confState == snapshot.metadata.confState, "\(label): confState \(state.confState), expected \(snapshot.metadata.confState)", sourceLocation: sourceLocation)
        #expect(storage.snapshotMetadata == snapshot.metadata, "\(label): snapshot \(storage.snapshotMetadata), expected \(snapshot.metadata)", sourceLocation: sourceLocation)
        if !snapshot.isEmpty {
            #expect(try storage.snapshot() == snapshot, "\(label): snapshot data differs", sourceLocation: sourceLocation)
        }
        let storedLast = try storage.lastIndex()
        #expect(storedLast == last, "\(label): lastIndex \(storedLast), expected \(last)", sourceLocation: sourceLocation)
        let storedFirst = try storage.firstIndex()
        let limit = max(first, snapshot.metadata.index + 1)
        #expect(storedFirst <= limit, "\(label): firstIndex \(storedFirst) beyond \(limit): entries lost", sourceLocation: sourceLocation)
        if let expected = knownTerm(storedFirst - 1) {
            let stored = try storage.term(at: storedFirst - 1)
            #expect(stored == expected, "\(label): term \(stored) at the boundary \(storedFirst - 1), expected \(expected)", sourceLocation: sourceLocation)
        }
        let common = max(first, storedFirst)
        if common <= last {
            let stored = try storage.entries(in: common..<(last + 1))
            #expect(stored == entries.filter { $0.index >= common }, "\(label): entries from \(common) differ", sourceLocation: sourceLocation)
        }
        // Continue from what the store kept: entries behind its boundary are gone for good.
        if storedFirst > first { entries.removeAll { $0.index < storedFirst } }
        if storedFirst < first { entries = try storage.entries(in: storedFirst..<(last + 1)) }
        first = storedFirst
        let kept = try storage.snapshots.list()
        #expect(kept.count <= storage.options.retainedSnapshots, "\(label): \(kept.count) snapshots kept", sourceLocation: sourceLocation)
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
