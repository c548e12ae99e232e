import RaftStorage

/// What a snapshot store acknowledged, and so what must survive a crash.
struct SnapshotModel<Store: SnapshotStore>: CrashModel {
    /// Every data a save was given, by (index, term): what may ever load.
    var written: [SnapshotMarker: [[UInt8]?]] = [:]
    /// The data of each acknowledged save still expected in the store, by (index, term).
    var acknowledged: [SnapshotMarker: [UInt8]?] = [:]
    /// Files damaged behind the store's back. Their bytes are no save's data, so the check that
    /// everything loaded was saved keeps them from loading.
    var damaged: Set<SnapshotMarker> = []

    static func key(_ marker: SnapshotMarker) -> SnapshotMarker { SnapshotMarker(index: marker.index, term: marker.term) }

    mutating func willRun(_ step: SnapshotCrashStep) {
        if case .save(let snapshot) = step, !snapshot.isEmpty {
            written[Self.key(snapshot.metadata.marker), default: []].append(snapshot.data)
        }
        if case .interrupted(let inner, _, _) = step { willRun(inner) }
    }

    mutating func acknowledge(_ step: SnapshotCrashStep) {
        switch step {
        case .save(let snapshot):
            guard !snapshot.isEmpty else { return }
            let key = Self.key(snapshot.metadata.marker)
            acknowledged[key] = snapshot.data
            damaged.remove(key)
        case .retainNewest(let count):
            for key in acknowledged.keys.sorted(by: >).dropFirst(max(1, count)) { acknowledged[key] = nil }
        case .loadNewest, .loadMatching, .restart:
            break
        case .damage(let marker):
            let key = Self.key(marker)
            if acknowledged.removeValue(forKey: key) != nil { damaged.insert(key) }
        case .interrupted(let inner, _, _):
            acknowledge(inner)
        }
    }

    mutating func closed() {}

    func problems(recovered store: Store, pending: SnapshotCrashStep?) throws -> [String] {
        var problems: [String] = []
        var pendingSave: Snapshot?
        var mayBeRemoved: Set<SnapshotMarker> = []
        switch pending {
        case .save(let snapshot): pendingSave = snapshot
        case .retainNewest(let count): mayBeRemoved = Set(acknowledged.keys.sorted(by: >).dropFirst(max(1, count)))
        default: break
        }
        func allowed(_ data: [UInt8]?, at key: SnapshotMarker) -> Bool {
            written[key]?.contains { $0 == data } ?? false
        }

        let listed = try store.list().map(Self.key)
        for key in listed where written[key] == nil { problems.append("lists \(key), which was never saved") }
        if listed != listed.sorted(by: >) { problems.append("list() is not newest first: \(listed)") }

        // The newest that loads: data someone saved, and nothing acknowledged is newer.
        let newest = try store.loadNewest()
        if let newest {
            let key = Self.key(newest.metadata.marker)
            if !allowed(newest.data, at: key) { problems.append("loadNewest() returned \(key) with data never saved (\(newest.data?.count ?? 0) bytes)") }
            if let missed = acknowledged.keys.filter({ $0 > key && !mayBeRemoved.contains($0) }).max() {
                problems.append("loadNewest() returned \(key), older than the acknowledged \(missed)")
            }
        } else if let missed = acknowledged.keys.first(where: { !mayBeRemoved.contains($0) }) {
            problems.append("loadNewest() found nothing, though \(missed) was acknowledged")
        }

        // Each listed snapshot loads with data that was saved, or is set aside.
        for key in try store.list().map(Self.key) {
            let loaded = try store.loadNewest(matching: [key])
            if let loaded {
                if Self.key(loaded.metadata.marker) != key { problems.append("loading \(key) returned \(loaded.metadata.marker)") }
                if !allowed(loaded.data, at: key) { problems.append("\(key) loaded with data never saved (\(loaded.data?.count ?? 0) bytes): a partial file loaded") }
                if let expected = acknowledged[key], loaded.data != expected, pendingSave.map({ Self.key($0.metadata.marker) != key || $0.data != loaded.data }) ?? true {
                    problems.append("\(key) loaded with other data than its acknowledged save")
                }
            } else {
                if let expected = acknowledged[key], !mayBeRemoved.contains(key) {
                    problems.append("the acknowledged \(key) (\(expected?.count ?? 0) bytes) does not load")
                }
                if try store.list().map(Self.key).contains(key) { problems.append("\(key) failed to load but was not set aside") }
            }
        }

        // Every acknowledged save is still there.
        let remaining = Set(try store.list().map(Self.key))
        for key in acknowledged.keys where !remaining.contains(key) && !mayBeRemoved.contains(key) {
            problems.append("the acknowledged \(key) is gone")
        }
        return problems
    }

    mutating func rebase(on store: Store) throws {
        var now: [SnapshotMarker: [UInt8]?] = [:]
        for key in try store.list().map(Self.key) {
            if let loaded = try store.loadNewest(matching: [key]) { now[key] = loaded.data }
        }
        acknowledged = now
        damaged = []
    }
}
