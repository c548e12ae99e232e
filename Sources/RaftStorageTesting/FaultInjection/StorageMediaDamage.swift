public import RaftStorage

/// Media-damage checks for snapshot files, through a composed ``RaftStorage/Storage`` and through
/// the snapshot store alone: a flipped bit or a zeroed sector at the start, in the middle and at
/// the end of each snapshot file of a storage that was written, synced and closed cleanly, one
/// case at a time, each on its own copy of the disk.
///
/// The invariant through `Storage` (``checkStorage(_:image:acknowledged:fileID:filePath:line:column:)``):
/// recovery returns the acknowledged HardState (term, vote, commit), a snapshot that loads with
/// its acknowledged data, and every acknowledged entry after it - the newest snapshot, or an
/// older one when the damaged newest file was set aside (no longer listed, and reported in
/// `recovery.actions`) - or fails with a damage error naming the damaged file and an offset.
///
/// Through the store (``checkSnapshotStore(_:image:acknowledged:fileID:filePath:line:column:)``):
/// `loadNewest(matching:)` of the damaged snapshot returns it with exactly its acknowledged data,
/// or nothing with the file set aside (no longer listed), or throws a damage error naming the
/// file and an offset; every other snapshot stays listed.
///
/// Give the storage room: no compaction (`retainedEntries` above the workload's last index) and
/// no snapshot removed (`retainedSnapshots` above their number), so that recovery can go back to
/// an older snapshot.
///
/// `checkStorage` and `checkSnapshotStore` report each problem through ``ConformanceReporting``: as
/// an issue of the running Swift Testing test, at the line that called them. From XCTest, call them
/// inside ``ConformanceReporting/withReporter(_:_:)`` with a reporter that calls `XCTFail`
/// (`withReporter({ issue in XCTFail("\(issue)") }) { ... }`); `exploreStorage` and
/// `exploreSnapshotStore` return the problems instead.
public struct StorageMediaDamage<Log: LogStore, Snapshots: SnapshotStore>: Sendable {
    /// Opens (recovers) the log the file system holds, creating what it needs.
    public let openLog: @Sendable (FaultInjectingFileSystem) throws -> Log
    /// Opens the snapshot store the file system holds.
    public let openSnapshots: @Sendable (FaultInjectingFileSystem) throws -> Snapshots
    /// The options `Storage` is opened with.
    public let options: Storage<Log, Snapshots>.Options
    /// The error codes that report damage.
    public let damageCodes: Set<StorageError.Code>

    /// A checker for storage composed of what `openLog` and `openSnapshots` open.
    public init(
        openLog: @escaping @Sendable (FaultInjectingFileSystem) throws -> Log,
        openSnapshots: @escaping @Sendable (FaultInjectingFileSystem) throws -> Snapshots,
        options: Storage<Log, Snapshots>.Options,
        damageCodes: Set<StorageError.Code> = MediaDamage.damageCodes
    ) {
        self.openLog = openLog
        self.openSnapshots = openSnapshots
        self.options = options
        self.damageCodes = damageCodes
    }

    /// Opens `Storage` over what `fs` holds.
    public func openStorage(_ fs: FaultInjectingFileSystem) throws -> Storage<Log, Snapshots> {
        let log = try openLog(fs)
        do {
            let snapshots = try openSnapshots(fs)
            return try Storage(log: log, snapshots: snapshots, options: options)
        } catch {
            try? log.close()
            throw error
        }
    }

    /// The cases for the snapshot files `files` (path by snapshot) of `image`: at the start
    /// (offset 0), in the middle and at the end (the last byte) of each, a bit flipped (bit 4)
    /// and the `sectorSize`-aligned sector there zeroed. So there are `6 × files` cases (fewer
    /// when a file is missing or empty).
    public static func snapshotCases(files: [SnapshotMarker: String], image: FaultInjectingFileSystem, sectorSize: Int = 512) -> [MediaDamageCase] {
        var cases: [MediaDamageCase] = []
        for (marker, path) in files.sorted(by: { $0.key < $1.key }) {
            guard let size = image.contents(of: path)?.count, size > 0 else { continue }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            for (role, offset) in [("start", 0), ("middle", size / 2), ("end", size - 1)] {
                for damage in [MediaDamage.flippedBit(offset: offset, bit: 4), .zeroedSector(offset: offset, sectorSize: sectorSize)] {
                    cases.append(MediaDamageCase(
                        path: path, damage: damage, position: "\(role) of snapshot \(marker) (\(name), \(size) bytes)",
                        snapshot: snapshotKey(marker)))
                }
            }
        }
        return cases
    }

    // MARK: - Through Storage

    /// Runs every case on its own copy of `image`, recovering `Storage`; records an issue for every
    /// problem found and returns the counts.
    @discardableResult
    public func checkStorage(
        _ cases: [MediaDamageCase], image: FaultInjectingFileSystem, acknowledged: AcknowledgedStorage,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> MediaDamageReport {
        ConformanceReporting.recording(
            try exploreStorage(cases, image: image, acknowledged: acknowledged),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    /// ``checkStorage(_:image:acknowledged:fileID:filePath:line:column:)`` returning the problems, one line each.
    public func exploreStorage(_ cases: [MediaDamageCase], image: FaultInjectingFileSystem, acknowledged: AcknowledgedStorage) throws -> (MediaDamageReport, [String]) {
        try explore(cases, image: image) { disk, damaged in recoverStorage(disk, damaged, acknowledged) }
    }

    private func recoverStorage(_ disk: FaultInjectingFileSystem, _ damaged: MediaDamageCase, _ acknowledged: AcknowledgedStorage) -> MediaDamageVerdict {
        let storage: Storage<Log, Snapshots>
        do {
            storage = try openStorage(disk)
        } catch {
            return .judging(error, damaged, codes: damageCodes)
        }
        defer { try? storage.close() }
        do {
            var problems: [String] = []
            let recovered = snapshotKey(storage.snapshotMetadata.marker)
            if recovered.index > 0 {
                if let expected = acknowledged.snapshots[recovered] {
                    let loaded = try storage.snapshot()
                    if loaded.data != expected {
                        problems.append("the recovered snapshot \(recovered) loads with data never acknowledged (\(loaded.data?.count ?? 0) bytes)")
                    }
                } else {
                    problems.append("the recovered snapshot \(recovered) was never acknowledged")
                }
            }
            // Only the damaged newest snapshot may be passed over, and only once set aside.
            let newest = acknowledged.newestSnapshot
            var fellBack = false
            if recovered < newest {
                if damaged.snapshot != newest {
                    problems.append("recovered the snapshot \(recovered), though the newest acknowledged \(newest) is intact")
                } else if try storage.snapshots.list().map(snapshotKey).contains(newest) {
                    problems.append("passed over the damaged newest snapshot \(newest) but left it listed")
                } else if !storage.recovery.actions.contains(where: { $0.kind == .snapshotSetAside && $0.snapshot.map(snapshotKey) == newest }) {
                    problems.append("set the damaged newest snapshot \(newest) aside without reporting it in recovery.actions")
                } else {
                    fellBack = true
                }
            }
            let first = try storage.firstIndex()
            let last = try storage.lastIndex()
            let from = recovered.index + 1
            let entries = from <= last ? try storage.entries(in: from..<(last + 1)) : []
            let state = try storage.initialState().hardState
            // Every acknowledged entry after the recovered snapshot, and nothing else.
            if let shortfall = acknowledged.log.shortfall(first: max(first, from), last: last, entries: entries, state: state, from: from) {
                problems.append(shortfall)
            }
            if !problems.isEmpty { return .lost(problems.joined(separator: "; ")) }
            return fellBack ? .recoveredFromOlderSnapshot : .recovered
        } catch {
            return .judging(error, damaged, codes: damageCodes)
        }
    }

    // MARK: - Through the snapshot store

    /// Runs every case on its own copy of `image`, loading the damaged snapshot from the snapshot
    /// store alone; records an issue for every problem found and returns the counts.
    @discardableResult
    public func checkSnapshotStore(
        _ cases: [MediaDamageCase], image: FaultInjectingFileSystem, acknowledged: AcknowledgedStorage,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> MediaDamageReport {
        ConformanceReporting.recording(
            try exploreSnapshotStore(cases, image: image, acknowledged: acknowledged),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    /// ``checkSnapshotStore(_:image:acknowledged:fileID:filePath:line:column:)`` returning the problems, one
    /// line each.
    public func exploreSnapshotStore(_ cases: [MediaDamageCase], image: FaultInjectingFileSystem, acknowledged: AcknowledgedStorage) throws -> (MediaDamageReport, [String]) {
        try explore(cases, image: image) { disk, damaged in loadDamaged(disk, damaged, acknowledged) }
    }

    private func loadDamaged(_ disk: FaultInjectingFileSystem, _ damaged: MediaDamageCase, _ acknowledged: AcknowledgedStorage) -> MediaDamageVerdict {
        guard let marker = damaged.snapshot, let expected = acknowledged.snapshots[marker] else {
            return .lost("the case names no acknowledged snapshot")
        }
        do {
            let store = try openSnapshots(disk)
            let loaded = try store.loadNewest(matching: [marker])
            let listed = try store.list().map(snapshotKey)
            var problems: [String] = []
            for other in acknowledged.snapshots.keys.sorted() where other != marker && !listed.contains(other) {
                problems.append("the intact snapshot \(other) is no longer listed")
            }
            if let loaded {
                if snapshotKey(loaded.metadata.marker) != marker {
                    problems.append("loading \(marker) returned \(loaded.metadata.marker)")
                } else if loaded.data != expected {
                    problems.append("\(marker) loaded with data never acknowledged (\(loaded.data?.count ?? 0) bytes)")
                }
            } else if listed.contains(marker) {
                problems.append("\(marker) did not load but is still listed (not set aside)")
            }
            if !problems.isEmpty { return .lost(problems.joined(separator: "; ")) }
            return loaded == nil ? .setAside : .recovered
        } catch {
            return .judging(error, damaged, codes: damageCodes)
        }
    }

    // MARK: -

    private func explore(
        _ cases: [MediaDamageCase], image: FaultInjectingFileSystem,
        _ recover: (FaultInjectingFileSystem, MediaDamageCase) -> MediaDamageVerdict
    ) throws -> (MediaDamageReport, [String]) {
        var report = MediaDamageReport()
        var problems: [String] = []
        for damaged in cases {
            let disk = try image.durableCopy()
            if !disk.damage(damaged.path, with: damaged.damage) { report.unchanged += 1 }
            let verdict = recover(disk, damaged)
            report.cases += 1
            report.count(verdict)
            if let problem = verdict.problem { problems.append("\(damaged): \(problem)") }
        }
        return (report, problems)
    }
}
