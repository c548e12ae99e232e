public import RaftStorage

/// Media-damage checks for durable ``RaftStorage/LogStore``s: damage that no crash makes - a flipped
/// bit, a zeroed sector, a damaged record length word - applied to a log that was written, synced
/// and closed cleanly, one case at a time, each on its own copy of the disk; then the log is
/// opened and read through its public API.
///
/// The invariant, for every case: recovery returns every acknowledged entry (same index, term
/// and data) and the acknowledged HardState (term, vote and commit), or it fails with a damage
/// error (``MediaDamage/damageCodes``) whose `path` names the damaged file and whose `offset`
/// is set. Never fewer entries, or an older HardState, without an error.
///
/// One exception, derived per case (``MediaDamageCase/tornTailAlternative``): damage confined
/// to the log's very last record - the final bytes written - can read exactly like a torn
/// write, so there the log may also come back without that record, provided it reports the
/// repair (`repaired`; by default a ``RaftStorage/RecoveryAction/Kind/tornTailCut`` among the store's
/// `recoveryActions`).
///
/// ```swift
/// let checker = LogMediaDamage(open: { fs in
///     try WALLogStore.open(at: "/wal", options: .init(wal: WALOptions(fileSystem: fs, segmentSize: 4096)))
/// })
/// let records = try WAL.read(at: "/wal", from: .zero, codec: ProtobufRecordCodec(), options: ...,
///                            replayOptions: WALReplayOptions(collectsRecords: true)).records
///     .map { StoredRecord(path: $0.path, offset: Int($0.offset), size: $0.frameSize, record: $0.record) }
/// let report = try checker.check(LogMediaDamage<WALLogStore<ProtobufRecordCodec>>.cases(records: records),
///                                image: image, acknowledged: acknowledged)
/// ```
///
/// `check` reports each problem through ``ConformanceReporting``: as an issue of the running Swift
/// Testing test, at the line that called it. From XCTest, call it inside
/// ``ConformanceReporting/withReporter(_:_:)`` with a reporter that calls `XCTFail`
/// (`withReporter({ issue in XCTFail("\(issue)") }) { ... }`); `explore` returns the problems
/// instead.
public struct LogMediaDamage<Store: LogStore>: Sendable {
    /// Opens (recovers) the store the file system holds.
    public let open: @Sendable (FaultInjectingFileSystem) throws -> Store
    /// Whether opening reported that it cut off a torn tail.
    public let repaired: @Sendable (Store) -> Bool
    /// The error codes that report damage.
    public let damageCodes: Set<StorageError.Code>

    /// A checker for the stores `open` opens; `repaired` tells whether opening cut off a torn
    /// tail (by default: whether the store's `recoveryActions` report one).
    public init(
        open: @escaping @Sendable (FaultInjectingFileSystem) throws -> Store,
        repaired: @escaping @Sendable (Store) -> Bool = { store in store.recoveryActions.contains { $0.kind == .tornTailCut } },
        damageCodes: Set<StorageError.Code> = MediaDamage.damageCodes
    ) {
        self.open = open
        self.repaired = repaired
        self.damageCodes = damageCodes
    }

    /// The cases for a log whose records are `records`, in log order (files in the order they
    /// are read, the last one the tail): in every file, its first, a middle and its last record,
    /// each with
    ///
    /// - a bit flipped in the middle of the record (bit 4),
    /// - the `sectorSize`-aligned sector holding the record's last byte zeroed,
    /// - its length word (an 8-byte little-endian word at the frame's start) made larger, and
    ///   separately smaller.
    ///
    /// So there are `12 × files` cases. A case whose damage lies entirely within the log's last
    /// record (or after it) gets the log without that record as ``MediaDamageCase/tornTailAlternative``.
    public static func cases(records: [StoredRecord], sectorSize: Int = 512) -> [MediaDamageCase] {
        var files: [String] = []
        for record in records where !files.contains(record.path) { files.append(record.path) }
        guard let tail = files.last, let lastRecord = records.indices.last else { return [] }
        var cases: [MediaDamageCase] = []
        for (number, path) in files.enumerated() {
            let held = records.indices.filter { records[$0].path == path }
            guard let first = held.first, let last = held.last else { continue }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            let file = path == tail ? "the tail file \(name)" : "sealed file \(number + 1) of \(files.count), \(name)"
            for (role, index) in [("first", first), ("middle", held[held.count / 2]), ("last", last)] {
                let record = records[index]
                let damages: [MediaDamage] = [
                    .flippedBit(offset: record.offset + record.size / 2, bit: 4),
                    .zeroedSector(offset: record.offset + record.size - 1, sectorSize: sectorSize),
                    .lengthWord(offset: record.offset, .larger),
                    .lengthWord(offset: record.offset, .smaller),
                ]
                for damage in damages {
                    let confinedToLastRecord = index == lastRecord && damage.firstByte >= record.offset
                    cases.append(MediaDamageCase(
                        path: path, damage: damage,
                        position: "\(file), \(role) record (\(record.summary), \(record.size) bytes at offset \(record.offset))",
                        tornTailAlternative: confinedToLastRecord ? AcknowledgedLog(replaying: records[..<index].map(\.record)) : nil))
                }
            }
        }
        return cases
    }

    /// Runs every case on its own copy of `image` (the disk after the log was closed cleanly),
    /// recording an issue for every problem found; returns the counts.
    @discardableResult
    public func check(
        _ cases: [MediaDamageCase], image: FaultInjectingFileSystem, acknowledged: AcknowledgedLog,
        fileID: String = #fileID, filePath: String = #filePath, line: Int = #line, column: Int = #column
    ) throws -> MediaDamageReport {
        ConformanceReporting.recording(
            try explore(cases, image: image, acknowledged: acknowledged),
            caller: CheckLocation(fileID: fileID, filePath: filePath, line: line, column: column), step: CheckLocation())
    }

    /// ``check(_:image:acknowledged:fileID:filePath:line:column:)`` returning the problems, one line each.
    public func explore(_ cases: [MediaDamageCase], image: FaultInjectingFileSystem, acknowledged: AcknowledgedLog) throws -> (MediaDamageReport, [String]) {
        var report = MediaDamageReport()
        var problems: [String] = []
        for damaged in cases {
            let disk = try image.durableCopy()
            if !disk.damage(damaged.path, with: damaged.damage) { report.unchanged += 1 }
            let verdict = recover(disk, damaged, acknowledged)
            report.cases += 1
            report.count(verdict)
            if let problem = verdict.problem { problems.append("\(damaged): \(problem)") }
        }
        return (report, problems)
    }

    private func recover(_ disk: FaultInjectingFileSystem, _ damaged: MediaDamageCase, _ acknowledged: AcknowledgedLog) -> MediaDamageVerdict {
        let store: Store
        do {
            store = try open(disk)
        } catch {
            return .judging(error, damaged, codes: damageCodes)
        }
        defer { try? store.close() }
        do {
            let first = try store.firstIndex()
            let last = try store.lastIndex()
            let entries = first <= last ? try store.entries(in: first..<(last + 1)) : []
            let state = try store.hardState()
            guard let shortfall = acknowledged.shortfall(first: first, last: last, entries: entries, state: state) else { return .recovered }
            if let alternative = damaged.tornTailAlternative,
                alternative.shortfall(first: first, last: last, entries: entries, state: state) == nil
            {
                return repaired(store) ? .tornTailCut : .lost("the damaged last record was cut off without a repair reported")
            }
            return .lost(shortfall)
        } catch {
            return .judging(error, damaged, codes: damageCodes)
        }
    }
}
