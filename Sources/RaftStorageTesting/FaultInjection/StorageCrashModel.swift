import RaftStorage

/// What a ``RaftStorage/Storage`` acknowledged, and so what must survive a crash.
struct StorageModel<Log: LogStore, Snapshots: SnapshotStore>: CrashModel {
    struct State {
        var hardState = HardState()
        /// The newest snapshot taken or installed: entries up to it may be gone after recovery.
        var snapshot = SnapshotMarker.zero
        /// Entries after `snapshot`, by index.
        var entries: [UInt64: Entry] = [:]
        var last: UInt64 = 0
    }

    var current = State()
    var durable = State()
    /// The HardState raft's MustSync compares with: the last one saved.
    var lastSaved = HardState()
    var writtenEntries: [UInt64: [Entry]] = [:]
    var writtenStates: Set<HardState> = [HardState()]
    /// Every snapshot's data, by (index, term).
    var writtenSnapshots: [SnapshotMarker: [[UInt8]?]] = [:]

    static func key(_ marker: SnapshotMarker) -> SnapshotMarker { SnapshotMarker(index: marker.index, term: marker.term) }

    mutating func willRun(_ step: StorageCrashStep) {
        switch step {
        case .ready(let hardState, let entries, let snapshot):
            for entry in entries { writtenEntries[entry.index, default: []].append(entry) }
            if !hardState.isEmpty { writtenStates.insert(hardState) }
            if let snapshot, !snapshot.isEmpty { writtenSnapshots[Self.key(snapshot.metadata.marker), default: []].append(snapshot.data) }
        case .createSnapshot(let index, let data):
            if let term = term(at: index) { writtenSnapshots[SnapshotMarker(index: index, term: term), default: []].append(data) }
        case .interrupted(let inner, _, _): willRun(inner)
        case .sync, .restart: break
        }
    }

    private func term(at index: UInt64) -> UInt64? {
        index == current.snapshot.index ? current.snapshot.term : current.entries[index]?.term
    }

    mutating func acknowledge(_ step: StorageCrashStep) {
        switch step {
        case .ready(let hardState, let entries, let snapshot):
            let installing = snapshot.flatMap { $0.isEmpty ? nil : $0 }
            if let installing {
                current.snapshot = Self.key(installing.metadata.marker)
                current.entries = [:]
                current.last = installing.metadata.index
            }
            let kept = entries.filter { $0.index > current.snapshot.index }
            if let first = kept.first?.index {
                current.entries = current.entries.filter { $0.key < first }
                for entry in kept { current.entries[entry.index] = entry }
                current.last = kept.last!.index
            }
            if !hardState.isEmpty { current.hardState = hardState }
            let mustSync = hardState.mustSync(previous: lastSaved, entryCount: entries.count)
            if !hardState.isEmpty { lastSaved = hardState }
            if installing != nil || mustSync { durable = current }
        case .createSnapshot(let index, _):
            if let term = term(at: index) {
                current.snapshot = SnapshotMarker(index: index, term: term)
                current.entries = current.entries.filter { $0.key > index }
            }
            durable = current
        case .sync, .restart:
            durable = current
        case .interrupted(let inner, _, _):
            acknowledge(inner)
        }
    }

    mutating func closed() { durable = current }

    func problems(recovered storage: Storage<Log, Snapshots>, pending: StorageCrashStep?) throws -> [String] {
        var problems: [String] = []
        let state = try storage.initialState().hardState
        if !writtenStates.contains(state) { problems.append("HardState \(state) was never written") }
        if let regression = hardStateRegression(from: durable.hardState, to: state) { problems.append(regression) }

        let snapshot = Self.key(storage.snapshotMetadata.marker)
        if snapshot.index < durable.snapshot.index {
            problems.append("recovered snapshot \(snapshot) is older than the acknowledged \(durable.snapshot)")
        }
        if snapshot.index > 0 {
            do {
                let loaded = try storage.snapshot()
                if !(writtenSnapshots[snapshot]?.contains { $0 == loaded.data } ?? false) {
                    problems.append("snapshot \(snapshot) loads with data never saved (\(loaded.data?.count ?? 0) bytes)")
                }
            } catch {
                problems.append("the recovered snapshot \(snapshot) does not load: \(error)")
            }
            if (try? storage.term(at: snapshot.index)) != snapshot.term {
                problems.append("the log does not start at the recovered snapshot \(snapshot)")
            }
        }

        var pendingFirst = UInt64.max
        if case .ready(_, let batch, let installing) = pending {
            if let index = batch.first?.index { pendingFirst = index }
            if let installing, !installing.isEmpty { pendingFirst = min(pendingFirst, installing.metadata.index + 1) }
        }
        let last = try storage.lastIndex()
        let mustKeepThrough = min(durable.last, pendingFirst - 1)
        if last < mustKeepThrough && snapshot.index < mustKeepThrough {
            problems.append("lastIndex \(last) lost acknowledged entries through \(mustKeepThrough)")
        }
        guard last > snapshot.index else { return problems }
        let entries: [Entry]
        do {
            entries = try storage.entries(in: (snapshot.index + 1)..<(last + 1))
        } catch {
            problems.append("entries after the recovered snapshot \(snapshot) do not read: \(error)")
            return problems
        }
        for entry in entries {
            if !(writtenEntries[entry.index]?.contains(entry) ?? false) {
                problems.append("entry \(entry) was never written")
            } else if entry.index < pendingFirst, entry.index > durable.snapshot.index, let acknowledged = durable.entries[entry.index], acknowledged != entry {
                problems.append("entry \(entry) is not the acknowledged \(acknowledged)")
            }
        }
        return problems
    }

    mutating func rebase(on storage: Storage<Log, Snapshots>) throws {
        var state = State()
        state.hardState = try storage.initialState().hardState
        state.snapshot = Self.key(storage.snapshotMetadata.marker)
        state.last = try storage.lastIndex()
        if state.last > state.snapshot.index {
            for entry in try storage.entries(in: (state.snapshot.index + 1)..<(state.last + 1)) { state.entries[entry.index] = entry }
        }
        current = state
        durable = state
        lastSaved = state.hardState
    }
}
