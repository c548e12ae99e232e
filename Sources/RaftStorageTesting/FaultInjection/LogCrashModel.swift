public import RaftStorage

/// What a log store acknowledged, step by step, and so what must survive a crash.
struct LogCrashModel {
    struct Log: Equatable {
        var boundary = SnapshotMarker.zero
        var entries: [Entry] = []
        var hardState = HardState()

        var first: UInt64 { boundary.index + 1 }
        var last: UInt64 { entries.last?.index ?? boundary.index }
        func entry(_ index: UInt64) -> Entry? {
            guard index >= first, index <= last else { return nil }
            return entries[Int(index - first)]
        }
    }

    /// The log as the store should report it now.
    var current = Log()
    /// The log as of the last point the store acknowledged as durable.
    var durable = Log()
    /// Snapshot markers acknowledged as recorded.
    var markers: [SnapshotMarker] = [.zero]
    /// Every entry ever handed to the store, by index, and every HardState.
    var written: [UInt64: [Entry]] = [:]
    var writtenStates: Set<HardState> = [HardState()]
    /// The HardState the store compares a new one with for `MustSync`: the last one saved.
    var lastSaved = HardState()

    /// Records that `step` is about to run, before it is acknowledged.
    mutating func willRun(_ step: LogCrashStep) {
        if case .interrupted(let inner, _, _) = step { return willRun(inner) }
        if case .save(let hardState, let entries) = step {
            for entry in entries { written[entry.index, default: []].append(entry) }
            if !hardState.isEmpty { writtenStates.insert(hardState) }
        }
    }

    /// Records that `step` returned successfully.
    mutating func acknowledge(_ step: LogCrashStep) {
        switch step {
        case .save(let hardState, let entries):
            append(entries)
            if !hardState.isEmpty { current.hardState = hardState }
            let mustSync = hardState.mustSync(previous: lastSaved, entryCount: entries.count)
            if !hardState.isEmpty { lastSaved = hardState }
            if mustSync { durable = current }
        case .sync:
            durable = current
        case .applySnapshot(let metadata):
            current.boundary = metadata.marker
            current.entries = []
            markers.append(metadata.marker)
            durable = current
        case .recordSnapshot(let metadata):
            markers.append(metadata.marker)
            durable = current
        case .compact(let index):
            let term = index == current.boundary.index ? current.boundary.term : current.entry(index)!.term
            current.entries.removeAll { $0.index <= index }
            current.boundary = SnapshotMarker(index: index, term: term)
        case .restart:
            durable = current
        case .interrupted(let step, _, _):
            acknowledge(step)
        }
    }

    /// After a restart or a recovery, what the store holds is what the node goes on from:
    /// recovery made it durable. Check it with ``problems(recovered:pending:)`` first.
    mutating func rebase(on store: some LogStore) throws(StorageError) {
        let first = try store.firstIndex()
        let last = try store.lastIndex()
        var log = Log()
        log.boundary = SnapshotMarker(index: first - 1, term: try store.term(at: first - 1))
        log.entries = first <= last ? try store.entries(in: first..<(last + 1)) : []
        log.hardState = try store.hardState()
        current = log
        durable = log
        lastSaved = log.hardState
    }

    private mutating func append(_ new: [Entry]) {
        let kept = new.filter { $0.index > current.boundary.index }
        guard let first = kept.first?.index else { return }
        current.entries.removeAll { $0.index >= first }
        current.entries += kept
    }

    /// Checks a store recovered after a crash during `pending` (or after the last step) against
    /// what was acknowledged; returns the problems found.
    func problems(recovered store: some LogStore, pending: LogCrashStep?) throws -> [String] {
        var problems: [String] = []
        let state = try store.hardState()
        let first = try store.firstIndex()
        let last = try store.lastIndex()
        if !writtenStates.contains(state) { problems.append("HardState \(state) was never written") }
        if let regression = hardStateRegression(from: durable.hardState, to: state) { problems.append(regression) }
        let entries = first <= last ? try store.entries(in: first..<(last + 1)) : []
        for entry in entries where !(written[entry.index] ?? []).contains(entry) {
            problems.append("entry \(entry) was never written")
        }
        // A snapshot step in flight may have reached the disk: its marker counts as recorded.
        if case .applySnapshot(let metadata) = pending, first > metadata.index {
            if first != metadata.index + 1 { problems.append("firstIndex \(first) is past the snapshot being installed at \(metadata.index)") }
            if last != metadata.index { problems.append("entries after the snapshot being installed at \(metadata.index) survived") }
            return problems
        }
        var possibleMarkers = markers
        if case .recordSnapshot(let metadata) = pending { possibleMarkers.append(metadata.marker) }
        let newestCommittedMarker = possibleMarkers.filter { $0.index <= state.commit }.map(\.index).max() ?? 0
        if first > max(durable.first, newestCommittedMarker + 1) {
            problems.append("firstIndex \(first) is past the acknowledged \(durable.first): entries lost")
        }
        var pendingEntries: [UInt64: Entry] = [:]
        var pendingFirst = UInt64.max
        if case .save(_, let batch) = pending, let index = batch.first?.index {
            pendingFirst = index
            for entry in batch { pendingEntries[entry.index] = entry }
        }
        let mustKeepThrough = min(durable.last, pendingFirst - 1)
        if last < mustKeepThrough { problems.append("lastIndex \(last) lost acknowledged entries through \(mustKeepThrough)") }
        for entry in entries {
            let acknowledged = durable.entry(entry.index)
            let inFlight = pendingEntries[entry.index]
            let allowed = entry.index < pendingFirst ? (acknowledged.map { $0 == entry } ?? false)
                : entry == acknowledged || entry == inFlight
            if !allowed && entry.index >= durable.first {
                problems.append("entry \(entry) is neither the acknowledged \(acknowledged.map(String.init(describing:)) ?? "nothing") nor the one being written")
            }
        }
        return problems
    }
}

/// One step of a crash-consistency workload for a ``RaftStorage/LogStore``.
public indirect enum LogCrashStep: Sendable, Hashable, CustomStringConvertible {
    /// ``RaftStorage/LogStore/save(hardState:entries:)``.
    case save(HardState, [Entry])
    /// ``RaftStorage/LogStore/sync()``.
    case sync
    /// ``RaftStorage/LogStore/applySnapshot(_:)``: a snapshot from the leader.
    case applySnapshot(SnapshotMetadata)
    /// ``RaftStorage/LogStore/recordSnapshot(_:)``: a snapshot taken locally.
    case recordSnapshot(SnapshotMetadata)
    /// ``RaftStorage/LogStore/compact(through:)``.
    case compact(UInt64)
    /// Closes the store cleanly and opens it again, as a node restarting does.
    case restart
    /// Runs `step`, but the power fails after at most `afterOperations` of its file-system
    /// operations, with `outcome`; the store is then opened again (recovering, for example
    /// repairing a torn tail), checked against what was acknowledged, and the workload goes on
    /// with the recovered store. Every operation of that recovery is a crash point too.
    case interrupted(LogCrashStep, afterOperations: Int, outcome: FaultInjectingFileSystem.CrashOutcome)

    func run(on store: some LogStore) throws(StorageError) {
        switch self {
        case .save(let hardState, let entries): try store.save(hardState: hardState, entries: entries)
        case .sync: try store.sync()
        case .applySnapshot(let metadata): try store.applySnapshot(metadata)
        case .recordSnapshot(let metadata): try store.recordSnapshot(metadata)
        case .compact(let index): try store.compact(through: index)
        case .restart: try store.close()
        case .interrupted(let step, _, _): try step.run(on: store)
        }
    }

    public var description: String {
        switch self {
        case .save(let hardState, let entries):
            "save(\(hardState), \(entries.first.map { "entries \($0.index)...\(entries.last!.index) term \($0.term)" } ?? "no entries"))"
        case .sync: "sync"
        case .applySnapshot(let metadata): "applySnapshot(\(metadata.marker))"
        case .recordSnapshot(let metadata): "recordSnapshot(\(metadata.marker))"
        case .compact(let index): "compact(through: \(index))"
        case .restart: "restart"
        case .interrupted(let step, let count, let outcome): "\(step) interrupted after \(count) operations (\(outcome))"
        }
    }
}
