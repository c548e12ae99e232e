public import RaftStorage
public import RaftFiles
import Synchronization

/// The etcd-compatible WAL as a ``RaftStorage/LogStore``: entries, HardState and snapshot markers on disk,
/// raft's reads answered from an in-memory index.
///
/// ```swift
/// let log = try WALLogStore(directory: "data/member/wal", codec: ProtobufRecordCodec())
/// let storage = try Storage(log: log, snapshots: snapshots)
/// ```
///
/// Opening creates the WAL when the directory holds none. Otherwise it reads every segment's
/// snapshot markers and HardState, opens at the newest marker the HardState's commit covers
/// (etcd's restart rule), and replays from there; a torn tail is cut off once (see
/// ``Options/repairsTornTail``), damage is refused unless ``Options/recoveryMode`` says to
/// discard it, and every cut is listed in ``recoveryActions``. During replay a snapshot marker whose entry the log does not
/// hold (one written by ``applySnapshot(_:)``) restarts the log there, so an installed
/// snapshot stays installed across restarts.
///
/// Memory: entries of the tail segment are held with their data; entries of sealed segments
/// (replayed on open, or sealed when the tail is cut) only by term and position, and
/// ``entries(in:maxBytes:)`` reads them back from their segment, checking their CRCs. So a log
/// far larger than memory opens in a few MiB (a 2 GB WAL in 22 MiB, `Docs/Performance.md`),
/// and replaying it reads no entry data but the tail's.
///
/// Durability: ``save(hardState:entries:)`` follows raft's `MustSync` rule;
/// ``applySnapshot(_:)``, ``recordSnapshot(_:)`` and ``sync()`` are durable on return.
/// ``compact(through:)`` drops entries from memory at once, and releases (and purges, see
/// ``Options/retainedSegments``) WAL segments only behind the newest snapshot marker that a
/// *synced* HardState commits, so a crash can never leave a log that cannot be opened
/// (etcd #10219).
///
/// Group commit: ``saveDurably(hardState:entries:)`` and ``appendDurably(term:type:data:)``
/// let many tasks append at once, sharing fdatasyncs; ``durableIndex()`` says how far the
/// log is on disk.
///
/// Thread safety: one writer at a time (writes are serialised) and any number of concurrent
/// readers, which see the log before or after a write (reads of sealed segments' entries hold
/// the index while they read).
public final class WALLogStore<Codec: RecordCodec>: LogStore {
    /// The WAL's directory.
    public let directory: String
    /// The codec the WAL's records are written with.
    public let codec: Codec
    /// The options the store was opened with.
    public let options: Options
    /// What opening repaired, if anything (the last repair when there were two: damage
    /// discarded, then a torn tail; ``recoveryActions`` lists them all).
    public var repair: WALRepairOutcome? { repairs.last }
    /// Every repair opening made, in order.
    private let repairs: [WALRepairOutcome]
    /// What opening changed on disk: each torn tail cut and each damage discarded, with the
    /// file, offset, bytes removed and the copy kept.
    public let recoveryActions: [RecoveryAction]

    /// The writer; held for the whole of every write, which serialises writers. `nil` once
    /// closed (or after a failed ``resume(from:)``).
    private let writer: Mutex<WAL<Codec>?>
    /// What readers see; taken briefly, inside `writer` when both are needed.
    let state: Mutex<LogView>

    struct LogView {
        var index: EntryIndex
        var hardState: HardState
        /// ``snapshotMarker()``: the newest marker recorded or replayed that the log holds.
        var marker: SnapshotMarker
        /// Every marker in the WAL's segments, with the segment's sequence number.
        var markers: [(marker: SnapshotMarker, segment: UInt64)]
        /// Which entries are on disk (``durableIndex()``).
        var durability: DurabilityTracker
        /// The WAL's tail segment when last looked at: entries held before a later tail are sealed.
        var tail: SegmentName?
        var closed = false

        init(index: EntryIndex, hardState: HardState, marker: SnapshotMarker, markers: [(marker: SnapshotMarker, segment: UInt64)], tail: SegmentName?) {
            self.index = index
            self.hardState = hardState
            self.marker = marker
            self.markers = markers
            self.durability = DurabilityTracker(durableIndex: index.lastIndex)
            self.tail = tail
        }
    }

    /// Opens (or creates) the WAL log in `directory`.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/locked`` when another writer has it open; replay errors
    ///   that are not a repairable torn tail (``RaftStorage/StorageError/Code/crcMismatch``,
    ///   ``RaftStorage/StorageError/Code/corrupt``, ``RaftStorage/StorageError/Code/codecMismatch``, ...).
    public init(directory: String, codec: Codec, options: Options = Options()) throws(StorageError) {
        self.directory = directory
        self.codec = codec
        self.options = options
        let opened = try Self.openWAL(directory: directory, codec: codec, options: options, at: nil)
        self.repairs = opened.repairs
        self.recoveryActions = Self.actions(for: opened.repairs, fileSystem: options.wal.fileSystem)
        self.writer = Mutex(opened.wal)
        self.state = Mutex(opened.view)
    }

    private struct Opened {
        var wal: WAL<Codec>
        var view: LogView
        var repairs: [WALRepairOutcome] = []
    }

    /// Creates the WAL, or opens it at `marker` (default: the newest valid marker), repairing
    /// a torn tail at most once, and discarding damage at most once when
    /// ``Options/recoveryMode`` says so. Opened at `marker`, the log's marker is `marker`
    /// itself, whatever later markers it holds (``resume(from:)``'s contract).
    private static func openWAL(directory: String, codec: Codec, options: Options, at marker: SnapshotMarker?) throws(StorageError) -> Opened {
        let walOptions = options.wal
        guard WAL<Codec>.exists(at: directory, fileSystem: walOptions.fileSystem) else {
            let wal = try WAL.create(at: directory, metadata: options.metadata, codec: codec, options: walOptions)
            let view = LogView(
                index: EntryIndex(boundaryIndex: 0, boundaryTerm: 0), hardState: .empty, marker: .zero, markers: [(.zero, 0)],
                tail: wal.tailSegment)
            return Opened(wal: wal, view: view)
        }
        var repairs: [WALRepairOutcome] = []
        var tornTailCut = false, damageDiscarded = false
        while true {
            do throws(StorageError) {
                let scan = try WAL.scanMarkers(at: directory, codec: codec, options: walOptions)
                let valid = scan.markers.map(\.marker).filter { $0.index <= scan.hardState.commit }
                guard let start = marker ?? valid.last else {
                    throw StorageError(.notFound, "no snapshot marker in the WAL is covered by its commit index \(scan.hardState.commit)", path: directory)
                }
                // Sealed segments' entries are located, not loaded: a log larger than memory opens.
                let names = try WALDirectory.segments(in: directory, fileSystem: walOptions.fileSystem, logger: walOptions.logger)
                let selected = try WALDirectory.select(names, snapshotIndex: start.index, directory: directory)
                var sink = IndexingSink(boundary: start, segments: Array(selected))
                let (wal, replay) = try WAL.open(
                    at: directory, from: start, codec: codec, options: walOptions,
                    replayOptions: WALReplayOptions(restartsAtUnmatchedSnapshots: true), entryBodies: .metadataBeforeLastFile, sink: &sink)
                let index = sink.index
                let view = LogView(
                    index: index, hardState: replay.hardState, marker: marker == nil ? newestHeldMarker(replay, index) : replay.boundary,
                    markers: scan.markers, tail: selected.last)
                return Opened(wal: wal, view: view, repairs: repairs)
            } catch where error.code == .unexpectedEnd && options.repairsTornTail && !tornTailCut {
                tornTailCut = true
                repairs.append(try WAL.repair(at: directory, codec: codec, options: walOptions))
            } catch where error.isDamage && options.recoveryMode == .discardFromDamage && !damageDiscarded {
                damageDiscarded = true
                repairs.append(try WAL.repair(at: directory, codec: codec, options: walOptions, discardingDamage: true))
            }
        }
    }

    /// The report of `repairs`, with the bytes each cut removed (read from the copy kept).
    private static func actions(for repairs: [WALRepairOutcome], fileSystem: any FileSystem) -> [RecoveryAction] {
        repairs.compactMap { repair in
            switch repair {
            case .nothingToRepair:
                return nil
            case .truncated(let path, let offset, let backup):
                let removed = (try? SegmentWindow(path: backup, fileSystem: fileSystem)).flatMap { window in
                    defer { window.close() }
                    return (try? window.endOfData(in: Int(offset)..<window.size)).map { Int64($0) - offset }
                }
                return RecoveryAction(
                    .tornTailCut, path: path, offset: offset, bytesRemoved: removed, backup: backup,
                    detail: "a torn write (its bytes end in zeros or at the end of the file, nothing intact after it) was cut off; it held nothing acknowledged")
            case .discardedDamage(let report, let backup):
                return RecoveryAction(
                    .damageDiscarded, path: report.path, offset: report.offset, bytesRemoved: report.bytesAfterDamage,
                    backup: backup,
                    detail: "damage discarded as the recovery mode allows: entries after \(report.lastIntactIndex), "
                        + "HardStates after \(report.lastIntactHardState), snapshot markers after \(report.intactMarkers.last.map(\.description) ?? "none") "
                        + "and \(report.laterSegments.count) later segment(s) are gone (\(report.error.message))")
            }
        }
    }

    /// The newest snapshot marker from the replay that the log holds: the boundary, or a later
    /// marker whose entry is in the log with the same term.
    private static func newestHeldMarker(_ replay: WALReplay, _ index: EntryIndex) -> SnapshotMarker {
        var newest = replay.boundary
        for marker in replay.snapshots where marker.index > newest.index && index.termIfPresent(at: marker.index) == marker.term {
            newest = marker
        }
        return newest
    }

    // MARK: - Reads

    private func read<Result>(_ body: (LogView) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try state.withLock { (view) throws(StorageError) in
            guard !view.closed else { throw StorageError(.closed, "the log store is closed", path: directory) }
            return try body(view)
        }
    }

    public func firstIndex() throws(StorageError) -> UInt64 { try read { $0.index.firstIndex } }

    public func lastIndex() throws(StorageError) -> UInt64 { try read { $0.index.lastIndex } }

    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        try read { (view) throws(StorageError) in try view.index.term(at: index) }
    }

    public func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        try read { (view) throws(StorageError) in
            try view.index.entries(in: range, maxBytes: maxBytes, codec: codec, fileSystem: options.wal.fileSystem, directory: directory)
        }
    }

    public func hardState() throws(StorageError) -> HardState { try read { $0.hardState } }

    public func snapshotMarker() throws(StorageError) -> SnapshotMarker { try read { $0.marker } }

    /// The markers in the WAL's segments that the stored HardState's commit covers, oldest
    /// first (etcd's `ValidSnapshotEntries`).
    public func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] {
        try read { view in view.markers.map(\.marker).filter { $0.index <= view.hardState.commit } }
    }

    // MARK: - Writes

    /// Runs a write with the WAL, serialised with every other write.
    func write<Result>(_ body: (WAL<Codec>) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try writer.withLock { (wal) throws(StorageError) in
            guard let wal else { throw StorageError(.closed, "the log store is closed", path: directory) }
            return try body(wal)
        }
    }

    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        _ = try save(hardState: hardState, entries: entries, deferringSync: false)
    }

    /// Appends like ``save(hardState:entries:)``, synced by raft's rule or not at all.
    ///
    /// - Returns: the WAL written to and the write's sequence number (0 when nothing was
    ///   written), for ``WAL/waitUntilDurable(_:)``.
    func save(hardState: HardState, entries: [Entry], deferringSync: Bool) throws(StorageError) -> (wal: WAL<Codec>, sequence: UInt64) {
        try write { (wal) throws(StorageError) in
            try save(hardState: hardState, entries: entries, deferringSync: deferringSync, holding: wal)
        }
    }

    /// ``save(hardState:entries:deferringSync:)`` for a caller already holding the writer.
    func save(
        hardState: HardState, entries: [Entry], deferringSync: Bool, holding wal: WAL<Codec>
    ) throws(StorageError) -> (wal: WAL<Codec>, sequence: UInt64) {
        let kept = try state.withLock { (view) throws(StorageError) -> ArraySlice<Entry> in
            let kept = try view.index.acceptedPart(of: entries)
            // Checked before the WAL is written, so a refused HardState leaves nothing on disk.
            try hardState.validate(replacing: view.hardState, lastIndexAfterSave: kept.last?.index ?? view.index.lastIndex)
            return kept
        }
        guard !kept.isEmpty || !hardState.isEmpty else { return (wal, 0) }
        let written = try wal.save(hardState: hardState, entries: Array(kept), deferringSync: deferringSync)
        state.withLock { view in
            view.index.append(kept, at: written.placement)
            if written.tail != view.tail {
                // The write cut the tail: what it held is in a sealed segment now.
                view.index.seal(before: written.tail)
                view.tail = written.tail
            }
            if !hardState.isEmpty { view.hardState = hardState }
            if let first = kept.first?.index {
                view.durability.wrote(written.sequence, from: first, through: view.index.lastIndex)
            }
            view.durability.durable(through: written.durable)
        }
        return (wal, written.sequence)
    }

    public func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try write { (wal) throws(StorageError) in
            let current = state.withLock { $0.marker }
            guard metadata.index > current.index else { throw .snapshotOutOfDate() }
            let marker = SnapshotMarker(index: metadata.index, term: metadata.term, confState: metadata.confState)
            try wal.saveSnapshot(marker)
            let segment = wal.heldSegments.last?.sequence ?? 0
            state.withLock { view in
                view.index.reset(boundaryIndex: metadata.index, term: metadata.term)
                view.marker = marker
                view.markers.append((marker, segment))
                view.durability = DurabilityTracker(durableIndex: metadata.index)
            }
        }
    }

    public func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try write { (wal) throws(StorageError) in
            try state.withLock { (view) throws(StorageError) in
                let term: UInt64
                do throws(StorageError) {
                    term = try view.index.term(at: metadata.index)
                } catch where error.code == .unavailable {
                    throw .unavailable("snapshot \(metadata.index) is out of bound lastindex(\(view.index.lastIndex))")
                }
                guard term == metadata.term else {
                    throw StorageError(.invalidArgument, "snapshot term \(metadata.term) differs from the log's term \(term) at index \(metadata.index)")
                }
                guard metadata.index > view.marker.index else { throw .snapshotOutOfDate() }
            }
            let marker = SnapshotMarker(index: metadata.index, term: metadata.term, confState: metadata.confState)
            try wal.saveSnapshot(marker)
            let segment = wal.heldSegments.last?.sequence ?? 0
            state.withLock { view in
                view.marker = marker
                view.markers.append((marker, segment))
            }
            try releaseSegmentsIfSafe(wal)
        }
    }

    public func compact(through index: UInt64) throws(StorageError) {
        try write { (wal) throws(StorageError) in
            try state.withLock { (view) throws(StorageError) in try view.index.compact(through: index) }
            try releaseSegmentsIfSafe(wal)
        }
    }

    public func sync() throws(StorageError) {
        try write { (wal) throws(StorageError) in
            try wal.sync()
            let durable = wal.durableSequence
            state.withLock { $0.durability.durable(through: durable) }
            try releaseSegmentsIfSafe(wal)
        }
    }

    /// Releases the segments behind the newest marker a synced HardState commits (and not
    /// beyond the compacted boundary), then purges released segments beyond
    /// ``Options/retainedSegments``.
    private func releaseSegmentsIfSafe(_ wal: WAL<Codec>) throws(StorageError) {
        let durableCommit = wal.syncedHardState.commit
        let (markers, boundary) = state.withLock { view in (view.markers, view.index.boundaryIndex) }
        guard let safe = markers.map(\.marker).filter({ $0.index <= durableCommit }).max(by: { $0.index < $1.index }) else { return }
        let releaseBelow = min(safe.index, boundary)
        guard releaseBelow > 0 else { return }
        try wal.releaseSegments(below: releaseBelow)
        guard let retained = options.retainedSegments else { return }
        let removed = try wal.purgeReleasedSegments(keeping: retained)
        guard !removed.isEmpty else { return }
        let purged = Set(removed.compactMap { path in
            SegmentName(fileName: String(path.split(separator: "/").last ?? ""))?.sequence
        })
        state.withLock { view in view.markers.removeAll { purged.contains($0.segment) } }
    }

    /// Re-reads the WAL from `marker`, an older marker recovery falls back to when a newer
    /// snapshot is unreadable.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/notFound`` when `marker` is not recorded in the WAL; replay
    ///   errors (the store is then closed).
    public func resume(from marker: SnapshotMarker) throws(StorageError) {
        try writer.withLock { (held) throws(StorageError) in
            guard let wal = held else { throw StorageError(.closed, "the log store is closed", path: directory) }
            let recorded = state.withLock { view in view.markers.contains { $0.marker.matches(marker) } }
            guard recorded else {
                throw StorageError(.notFound, "snapshot marker \(marker) is not recorded in the WAL", path: directory)
            }
            try wal.close()
            held = nil
            do throws(StorageError) {
                let opened = try Self.openWAL(directory: directory, codec: codec, options: options, at: marker)
                held = opened.wal
                state.withLock { $0 = opened.view }
            } catch {
                state.withLock { $0.closed = true }
                throw error
            }
        }
    }

    /// Syncs and closes the WAL. Further calls throw ``RaftStorage/StorageError/Code/closed``; closing
    /// again does nothing.
    public func close() throws(StorageError) {
        try writer.withLock { (held) throws(StorageError) in
            state.withLock { $0.closed = true }
            guard let wal = held else { return }
            held = nil
            try wal.close()
        }
    }
}
