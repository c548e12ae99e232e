public import RaftStorage

/// Crash-point enumeration for durable ``RaftStorage/SnapshotStore``s: runs a workload of saves,
/// loads and retention, crashes the file system after every one of its operations in turn (with
/// each ``FaultInjectingFileSystem/CrashOutcome``), reopens the store and checks that every
/// acknowledged save loads with exactly its data, nothing partial or never written ever loads,
/// a file that fails to load is set aside (no longer listed), and the store takes a new save.
///
/// ```swift
/// let crashes = SnapshotCrashConsistency(
///     open: { fs in try EtcdSnapshotStore(directory: "/snap", fileSystem: fs) },  // "/" exists
///     filePath: { store, marker in store.filePath(of: marker) })
/// @Test(arguments: SnapshotCrashConsistency<EtcdSnapshotStore>.workloads + SnapshotCrashConsistency<EtcdSnapshotStore>.damageWorkloads)
/// func crashes(_ workload: SnapshotCrashConsistency<EtcdSnapshotStore>.Workload) throws {
///     try crashes.check(workload)
/// }
/// ```
///
/// `open` must create the store when the file system holds none and open it otherwise.
/// `filePath` names the file that holds a snapshot, for the ``damageWorkloads`` (which flip
/// bytes in it, as a failing disk would); without it those workloads throw.
///
/// `check` and `checkFaults` report each problem through ``ConformanceReporting``: as an issue of
/// the running Swift Testing test, at the line that called them. From XCTest, call them inside
/// ``ConformanceReporting/withReporter(_:_:)`` with a reporter that calls `XCTFail`
/// (`withReporter({ issue in XCTFail("\(issue)") }) { ... }`); `explore` returns the problems
/// instead.
public struct SnapshotCrashConsistency<Store: SnapshotStore>: Sendable {
    /// Creates the store on an empty file system, or opens the one it holds.
    public let open: @Sendable (FaultInjectingFileSystem) throws -> Store
    /// The file holding the snapshot at a marker, or `nil` when the store has no such file.
    public let filePath: (@Sendable (Store, SnapshotMarker) -> String)?

    /// A checker for the stores `open` creates or opens; `filePath` enables the damage workloads.
    public init(
        open: @escaping @Sendable (FaultInjectingFileSystem) throws -> Store,
        filePath: (@Sendable (Store, SnapshotMarker) -> String)? = nil
    ) {
        self.open = open
        self.filePath = filePath
    }

    /// A named sequence of steps.
    public typealias Workload = CrashWorkload<SnapshotCrashStep>

    /// The crash outcomes tried at each crash point by default: unsynced writes dropped, kept,
    /// torn at 512 bytes and at 4 KiB, and scrambled.
    public static var defaultOutcomes: [FaultInjectingFileSystem.CrashOutcome] {
        FaultInjectingFileSystem.CrashOutcome.standard
    }

    /// Enumerates every crash point of `workload` with each of `outcomes`, recording an issue for
    /// every problem found.
    @discardableResult
    public func check(
        _ workload: Workload,
        outcomes: [FaultInjectingFileSystem.CrashOutcome] = defaultOutcomes,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> CrashConsistencyReport {
        ConformanceReporting.recording(
            try explore(workload, outcomes: outcomes),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    /// ``check(_:outcomes:fileID:filePath:line:column:)`` returning the problems, one line each.
    public func explore(
        _ workload: Workload, outcomes: [FaultInjectingFileSystem.CrashOutcome] = defaultOutcomes
    ) throws -> (CrashConsistencyReport, [String]) {
        try engine(for: workload).explore(workload.name, workload.steps, outcomes: outcomes)
    }

    /// Fault enumeration (see ``LogCrashConsistency/checkFaults(_:faults:fileID:filePath:line:column:)``):
    /// each fsync, write and preallocation failing in turn; the store is reopened, the step
    /// retried, and after a final power failure every acknowledged save must load.
    @discardableResult
    public func checkFaults(
        _ workload: Workload,
        faults: [FaultInjectingFileSystem.Fault] = FaultInjectingFileSystem.Fault.standard,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> FaultConsistencyReport {
        ConformanceReporting.recording(
            try engine(for: workload).exploreFaults(workload.name, workload.steps, faults: faults),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    private func engine(for workload: Workload) throws -> CrashEngine<SnapshotModel<Store>> {
        let needsFiles = workload.steps.contains { if case .damage = $0 { true } else { false } }
        if needsFiles && filePath == nil {
            throw CrashConsistencyFailure("\(workload.name) damages snapshot files: pass filePath to SnapshotCrashConsistency")
        }
        let open = self.open
        let filePath = self.filePath
        return CrashEngine(
            open: open,
            close: { _ in },
            perform: { step, store, fs in try step.run(on: store, fs: fs, filePath: filePath) },
            alreadyDone: { _ in false },
            continues: { store, fs in Self.continues(store, reopening: { try open(fs) }) })
    }

    /// The recovered store takes a newer snapshot, durably; returns the problem when it does not.
    static func continues(_ store: Store, reopening: () throws -> Store) -> String? {
        do {
            let newest = try store.list().first ?? .zero
            let snapshot = Snapshot(data: Array("after crash".utf8), metadata: SnapshotMetadata(index: newest.index + 1000, term: newest.term + 1))
            try store.save(snapshot)
            let reopened = try reopening()
            let loaded = try reopened.loadNewest()
            return loaded?.data == snapshot.data && loaded?.metadata.marker == snapshot.metadata.marker
                ? nil : "a snapshot saved after recovery does not load: \(loaded.map { "\($0.metadata.marker)" } ?? "nothing")"
        } catch {
            return "the recovered store does not take a new snapshot: \(error)"
        }
    }

    /// The standard workloads: saves of growing snapshots (up to a few hundred KiB), a save
    /// replacing one at the same marker, retention, restarts, and power failures that tear a
    /// save in progress.
    public static var workloads: [Workload] {
        [
            Workload(name: "saves of growing snapshots", steps: [
                .save(snapshot(10, term: 1, size: 1_000)),
                .save(snapshot(20, term: 1, size: 60_000)),
                .save(snapshot(30, term: 2, size: 300_000)),
                .loadNewest,
            ]),
            Workload(name: "replacing a snapshot, and retention", steps: [
                .save(snapshot(10, term: 1, size: 2_000)),
                .save(snapshot(20, term: 1, size: 2_000)),
                .save(snapshot(30, term: 1, size: 9_000)),
                .retainNewest(2),
                .save(snapshot(30, term: 1, size: 5_000, seed: 7)),
                .save(snapshot(40, term: 2, size: 3_000)),
                .retainNewest(1),
            ]),
            Workload(name: "restarts", steps: [
                .save(snapshot(10, term: 1, size: 4_000)),
                .restart,
                .save(snapshot(20, term: 1, size: 4_000)),
                .loadMatching([SnapshotMarker(index: 10, term: 1)]),
                .restart,
                .retainNewest(1),
            ]),
            Workload(name: "power failures during saves", steps: [
                .save(snapshot(10, term: 1, size: 3_000)),
                .interrupted(.save(snapshot(20, term: 1, size: 100_000)), afterOperations: 2, outcome: .tearLastWrite(sectorSize: 512)),
                .save(snapshot(30, term: 1, size: 50_000)),
                .interrupted(.save(snapshot(40, term: 2, size: 20_000)), afterOperations: 3, outcome: .keepUnsynced),
                .interrupted(.save(snapshot(50, term: 2, size: 20_000)), afterOperations: 4, outcome: .scramble(seed: 3)),
                .loadNewest,
            ]),
        ]
    }

    /// Workloads that damage stored files (flipping bytes, as a failing disk would) and load:
    /// the damaged file must never load, must be set aside, and older snapshots must load.
    /// They need ``filePath``.
    public static var damageWorkloads: [Workload] {
        [
            Workload(name: "a damaged newest snapshot is set aside", steps: [
                .save(snapshot(10, term: 1, size: 5_000)),
                .save(snapshot(20, term: 1, size: 5_000)),
                .damage(SnapshotMarker(index: 20, term: 1)),
                .loadNewest,
                .save(snapshot(30, term: 1, size: 5_000)),
                .damage(SnapshotMarker(index: 30, term: 1)),
                .loadMatching([SnapshotMarker(index: 30, term: 1), SnapshotMarker(index: 10, term: 1)]),
                .save(snapshot(20, term: 1, size: 2_000, seed: 9)),
                .loadNewest,
            ]),
        ]
    }

    /// A snapshot at `index` whose data is `size` bytes, half compressible, half not.
    public static func snapshot(_ index: UInt64, term: UInt64, size: Int, seed: UInt64 = 0) -> Snapshot {
        var generator = SeededGenerator(seed: index &* 31 &+ term &+ seed)
        let data = (0..<size).map { offset in offset % 2048 < 1024 ? UInt8(truncatingIfNeeded: offset / 64) : UInt8(truncatingIfNeeded: generator.next()) }
        return Snapshot(data: data, metadata: SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: index, term: term))
    }
}

/// One step of a crash-consistency workload for a ``RaftStorage/SnapshotStore``.
public indirect enum SnapshotCrashStep: Sendable, Hashable, CustomStringConvertible {
    /// ``RaftStorage/SnapshotStore/save(_:)``.
    case save(Snapshot)
    /// ``RaftStorage/SnapshotStore/retainNewest(_:)``.
    case retainNewest(Int)
    /// ``RaftStorage/SnapshotStore/loadNewest()``, which sets aside unreadable newer files.
    case loadNewest
    /// ``RaftStorage/SnapshotStore/loadNewest(matching:)``.
    case loadMatching([SnapshotMarker])
    /// Flips bytes in the middle of the stored file of a snapshot, durably, as a failing disk
    /// would; the store is not told.
    case damage(SnapshotMarker)
    /// Opens the store again (snapshot stores have nothing to close).
    case restart
    /// Runs a step, but the power fails after at most `afterOperations` of its file-system
    /// operations, with `outcome`; the store is then opened again, checked, and the workload
    /// goes on.
    case interrupted(SnapshotCrashStep, afterOperations: Int, outcome: FaultInjectingFileSystem.CrashOutcome)

    func run<Store: SnapshotStore>(on store: Store, fs: FaultInjectingFileSystem, filePath: (@Sendable (Store, SnapshotMarker) -> String)?) throws {
        switch self {
        case .save(let snapshot): try store.save(snapshot)
        case .retainNewest(let count): try store.retainNewest(count)
        case .loadNewest: _ = try store.loadNewest()
        case .loadMatching(let markers): _ = try store.loadNewest(matching: markers)
        case .damage(let marker):
            guard let path = filePath?(store, marker), var bytes = fs.contents(of: path), !bytes.isEmpty else { return }
            for offset in stride(from: bytes.count / 3, to: bytes.count, by: max(1, bytes.count / 7)) { bytes[offset] ^= 0x5A }
            fs.setContents(of: path, to: bytes)
        case .restart: break
        case .interrupted(let step, _, _): try step.run(on: store, fs: fs, filePath: filePath)
        }
    }

    public var description: String {
        switch self {
        case .save(let snapshot): "save(\(snapshot.metadata.marker), \(snapshot.data?.count ?? 0) bytes)"
        case .retainNewest(let count): "retainNewest(\(count))"
        case .loadNewest: "loadNewest"
        case .loadMatching(let markers): "loadNewest(matching: \(markers))"
        case .damage(let marker): "damage(\(marker))"
        case .restart: "restart"
        case .interrupted(let step, let count, let outcome): "\(step) interrupted after \(count) operations (\(outcome))"
        }
    }
}

extension SnapshotCrashStep: CrashWorkloadStep {
    var isRestart: Bool { self == .restart }

    var interruption: (step: SnapshotCrashStep, afterOperations: Int, outcome: FaultInjectingFileSystem.CrashOutcome)? {
        guard case .interrupted(let step, let count, let outcome) = self else { return nil }
        return (step, count, outcome)
    }
}
