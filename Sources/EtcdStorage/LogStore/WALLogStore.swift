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
/// Opening creates the WAL when the directory holds none. Otherwise it finds every segment's
/// snapshot markers and the last HardState, opens at the newest marker the HardState's commit
/// covers (etcd's restart rule), and replays from there; a clean WAL is read once for all of
/// that, its segments side by side, without entry data. A torn tail is cut off once (see
/// ``Options/repairsTornTail``), damage is refused unless ``Options/recoveryMode`` says to
/// discard it, and every cut is listed in ``recoveryActions``. During replay a snapshot marker whose entry the log does not
/// hold (one written by ``applySnapshot(_:)``) restarts the log there, so an installed
/// snapshot stays installed across restarts.
///
/// Memory: the index keeps every entry's term and, every few hundred entries, its position in
/// the segments, never entry data; the entries written since the open are also held with
/// their data until the tail segment is cut, and every other entry (replayed on open, or
/// sealed by a cut) is read back from its segment by ``entries(in:maxBytes:)``, checking its
/// CRC. So a log far larger than memory opens in a few MiB (a 2 GB WAL in 25 MiB and about
/// the time `cat` takes to read it, `Docs/Performance.md`).
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
/// Thread safety: one writer at a time (writes are serialised by the WAL's writer lock) and
/// any number of concurrent readers, which see the log before or after a write (reads of
/// sealed segments' entries hold the index while they read).
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

    /// The WAL every write goes through. Its writer lock (``WAL/withWriter(_:)``) is the
    /// store's one writer lock: each write checks the index, writes and publishes under it.
    let wal: WAL<Codec>
    /// What readers see.
    ///
    /// A second lock, for one reason: readers must never wait for a write's I/O (a page write,
    /// an fdatasync, a segment cut), so a writer takes this one only briefly, inside the
    /// writer lock and never across I/O: to check a batch before writing it, and to publish it
    /// after. Readers of sealed segments' entries hold it while they read (compaction and
    /// purging wait for them).
    let state: Mutex<LogView>
    /// Where entries of sealed segments are read back from.
    let reader: SegmentReader<Codec>
    /// Whether opening read each byte once (``openReadingEachByteOnce(directory:codec:options:at:)``)
    /// rather than record by record.
    let openedInOnePass: Bool

    /// Opens (or creates) the WAL log in `directory`.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/locked`` when another writer has it open; replay errors
    ///   that are not a repairable torn tail (``RaftStorage/StorageError/Code/crcMismatch``,
    ///   ``RaftStorage/StorageError/Code/corrupt``, ``RaftStorage/StorageError/Code/codecMismatch``, ...).
    public convenience init(directory: String, codec: Codec, options: Options = Options()) throws(StorageError) {
        try self.init(directory: directory, codec: codec, options: options, readingEachByteOnce: true)
    }

    /// Opens the log as ``init(directory:codec:options:)`` does, or, without
    /// `readingEachByteOnce`, always record by record (to check one against the other).
    init(directory: String, codec: Codec, options: Options, readingEachByteOnce: Bool) throws(StorageError) {
        self.directory = directory
        self.codec = codec
        self.options = options
        let opened = try Self.openWAL(directory: directory, codec: codec, options: options, at: nil, readingEachByteOnce: readingEachByteOnce)
        self.openedInOnePass = opened.inOnePass
        self.repairs = opened.repairs
        self.recoveryActions = Self.actions(for: opened.repairs, fileSystem: options.wal.fileSystem)
        self.wal = WAL(directory: directory, metadata: opened.metadata, writer: opened.writer)
        self.state = Mutex(opened.view)
        self.reader = SegmentReader(codec: codec, fileSystem: options.wal.fileSystem, directory: directory)
    }

    // MARK: - Reads

    /// Runs `body` on the view under its lock, or throws `closed` once the store is closed.
    func read<Result>(_ body: (LogView) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try state.withLock { (view) throws(StorageError) in
            guard !view.closed else { throw StorageError(.closed, "the log store is closed", path: directory) }
            return try body(view)
        }
    }

    /// Runs `body` on the view under its lock to change it, or throws `closed` once the store
    /// is closed.
    private func change<Result>(_ body: (inout LogView) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try state.withLock { (view) throws(StorageError) in
            guard !view.closed else { throw StorageError(.closed, "the log store is closed", path: directory) }
            return try body(&view)
        }
    }

    public func firstIndex() throws(StorageError) -> UInt64 { try read { $0.index.firstIndex } }

    public func lastIndex() throws(StorageError) -> UInt64 { try read { $0.index.lastIndex } }

    public func term(at index: UInt64) throws(StorageError) -> UInt64 {
        try read { (view) throws(StorageError) in try view.index.term(at: index) }
    }

    public func entries(in range: Range<UInt64>, maxBytes: UInt64) throws(StorageError) -> [Entry] {
        try read { (view) throws(StorageError) in try view.entries(in: range, maxBytes: maxBytes, reader: reader) }
    }

    public func hardState() throws(StorageError) -> HardState { try read { $0.hardState } }

    public func snapshotMarker() throws(StorageError) -> SnapshotMarker { try read { $0.marker } }

    /// The markers in the WAL's segments that the stored HardState's commit covers, oldest
    /// first (etcd's `ValidSnapshotEntries`).
    public func snapshotMarkers() throws(StorageError) -> [SnapshotMarker] {
        try read { view in view.markers.map(\.marker).filter { $0.index <= view.hardState.commit } }
    }

    // MARK: - Writes

    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        _ = try wal.withWriter { (writer) throws(StorageError) in
            try write(hardState: hardState, entries: entries, deferringSync: false, with: &writer)
        }
    }

    /// The store's one save, run under the WAL's writer lock with its `writer`
    /// (``save(hardState:entries:)``, ``saveDurably(hardState:entries:)``,
    /// ``appendDurably(term:type:data:)``): the batch is checked against the index, written by
    /// the WAL's one save (``WALWriter/save(hardState:entries:deferringSync:)``, synced by
    /// raft's rule unless `deferringSync`), and then published to readers. A refused batch
    /// writes nothing.
    ///
    /// - Returns: the write's sequence number, for ``WAL/waitUntilDurable(_:)``; 0 when there
    ///   was nothing to write.
    func write(hardState: HardState, entries: [Entry], deferringSync: Bool, with writer: inout WALWriter<Codec>) throws(StorageError) -> UInt64 {
        let kept = try read { (view) throws(StorageError) in try view.index.admit(entries[...], hardState: hardState, replacing: view.hardState) }
        guard !kept.isEmpty || !hardState.isEmpty else { return 0 }
        let written = try writer.save(hardState: hardState, entries: Array(kept), deferringSync: deferringSync)
        let durable = writer.durableSequence
        state.withLock { $0.publish(kept, hardState: hardState, written: written, durable: durable) }
        return written.sequence
    }

    public func applySnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try wal.withWriter { (writer) throws(StorageError) in
            let current = try read { $0.marker }
            try EntryIndex.requireNewer(metadata.index, than: current.index)
            let marker = SnapshotMarker(index: metadata.index, term: metadata.term, confState: metadata.confState)
            try writer.saveSnapshot(marker)
            let segment = writer.segments.last?.name.sequence ?? 0
            state.withLock { view in
                view.reset(after: marker)
                view.marker = marker
                view.markers.append((marker, segment))
            }
        }
    }

    public func recordSnapshot(_ metadata: SnapshotMetadata) throws(StorageError) {
        try wal.withWriter { (writer) throws(StorageError) in
            try read { (view) throws(StorageError) in
                try view.index.checkRecordable(metadata.index, term: metadata.term, newerThan: view.marker.index)
            }
            let marker = SnapshotMarker(index: metadata.index, term: metadata.term, confState: metadata.confState)
            try writer.saveSnapshot(marker)
            let segment = writer.segments.last?.name.sequence ?? 0
            state.withLock { view in
                view.marker = marker
                view.markers.append((marker, segment))
            }
            try releaseSegmentsIfSafe(&writer)
        }
    }

    public func compact(through index: UInt64) throws(StorageError) {
        try wal.withWriter { (writer) throws(StorageError) in
            try change { (view) throws(StorageError) in try view.compact(through: index) }
            try releaseSegmentsIfSafe(&writer)
        }
    }

    public func sync() throws(StorageError) {
        try wal.withWriter { (writer) throws(StorageError) in
            try read { _ in }
            try writer.guarded { (writer) throws(StorageError) in try writer.sync() }
            let durable = writer.durableSequence
            state.withLock { $0.durability.durable(through: durable) }
            try releaseSegmentsIfSafe(&writer)
        }
    }

    /// Releases the segments behind the newest marker a synced HardState commits (and not
    /// beyond the view's ``LogView/releaseLimit``), then purges released segments beyond
    /// ``Options/retainedSegments``.
    private func releaseSegmentsIfSafe(_ writer: inout WALWriter<Codec>) throws(StorageError) {
        let durableCommit = writer.syncedState.commit
        let (markers, limit) = state.withLock { view in (view.markers, view.releaseLimit) }
        guard let safe = markers.map(\.marker).filter({ $0.index <= durableCommit }).max(by: { $0.index < $1.index }) else { return }
        let releaseBelow = min(safe.index, limit)
        guard releaseBelow > 0 else { return }
        try writer.guarded { (writer) throws(StorageError) in try writer.releaseSegments(below: releaseBelow) }
        guard let retained = options.retainedSegments else { return }
        // A failed removal or directory fsync leaves the directory unknown: no more writes.
        let removed = try writer.guarded { (writer) throws(StorageError) in
            // Not the segments an open left unheld before its start: they may be needed to fall back.
            try writer.purgeReleasedSegments(keeping: retained, below: releaseBelow)
        }
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
        try wal.reopen { () throws(StorageError) in
            let recorded = try read { view in view.markers.contains { $0.marker.matches(marker) } }
            guard recorded else {
                throw StorageError(.notFound, "snapshot marker \(marker) is not recorded in the WAL", path: directory)
            }
        } open: { () throws(StorageError) in
            do throws(StorageError) {
                let opened = try Self.openWAL(directory: directory, codec: codec, options: options, at: marker)
                state.withLock { $0 = opened.view }
                return opened.writer
            } catch {
                state.withLock { $0.closed = true }
                throw error
            }
        }
    }

    /// Syncs and closes the WAL. Further calls throw ``RaftStorage/StorageError/Code/closed``; closing
    /// again does nothing.
    public func close() throws(StorageError) {
        state.withLock { $0.closed = true }
        try wal.close()
    }
}

/// The WAL's index of its entries: etcd's `MemoryStorage` rules over terms and positions
/// (``LocatedEntries``), without entry data.
typealias EntryIndex = LogWindow<LocatedEntries>

/// What ``WALLogStore``'s readers see: the index, the entries written since the open with their data,
/// the HardState and the snapshot markers.
struct LogView: Sendable {
    /// Every entry's term and position.
    var index: EntryIndex
    /// The entries written to the tail segment since the open, from ``EntrySlots/first`` to
    /// the index's last one, with their data: the last of them may still be in the page
    /// buffer, where a read from the file would not find them. A cut seals them, and they are
    /// dropped.
    var tail: EntrySlots
    var hardState: HardState
    /// ``WALLogStore/snapshotMarker()``: the newest marker recorded or replayed that the log holds.
    var marker: SnapshotMarker
    /// Every marker in the WAL's segments, with the segment's sequence number.
    var markers: [(marker: SnapshotMarker, segment: UInt64)]
    /// Which entries are on disk (``WALLogStore/durableIndex()``).
    var durability: DurabilityTracker
    /// The WAL's tail segment when last written: a write that changes it cut the tail.
    var tailSegment: SegmentName?
    /// The index below which segments may be released and purged: raised by compactions and
    /// installed snapshots, not by an open. An open's boundary is the newest marker, but the
    /// compactions before it stopped at the oldest snapshot kept, and recovery may have to fall
    /// back to that snapshot and every entry after it; so an open starts from the oldest marker
    /// in the WAL.
    var releaseLimit: UInt64
    var closed = false

    init(
        index: EntryIndex, tail: EntrySlots, hardState: HardState, marker: SnapshotMarker,
        markers: [(marker: SnapshotMarker, segment: UInt64)], tailSegment: SegmentName?
    ) {
        self.index = index
        self.tail = tail
        self.hardState = hardState
        self.marker = marker
        self.markers = markers
        self.releaseLimit = min(markers.map(\.marker.index).min() ?? index.boundaryIndex, index.boundaryIndex)
        self.durability = DurabilityTracker(durableIndex: index.lastIndex)
        self.tailSegment = tailSegment
    }

    /// The entries in `range` cut to `maxBytes` (``RaftStorage/LogStore/entries(in:maxBytes:)``):
    /// those of sealed segments read back by `reader`, the tail's from memory.
    func entries<Codec: RecordCodec>(in range: Range<UInt64>, maxBytes: UInt64, reader: SegmentReader<Codec>) throws(StorageError) -> [Entry] {
        let tail = self.tail
        return try index.entries(in: range, maxBytes: maxBytes) {
            (positions: LocatedEntries, range: Range<UInt64>, page: inout EntryPage) throws(StorageError) in
            let split = min(max(range.lowerBound, tail.first), range.upperBound)
            if range.lowerBound < split {
                try reader.read(range.lowerBound..<split, at: positions, into: &page)
            }
            if split < range.upperBound {
                _ = page.add(contentsOf: tail[split..<range.upperBound])
            }
        }
    }

    /// Makes a save visible: `kept` (what the index admitted) was written as `written` says,
    /// and every write through sequence `durable` is on disk.
    mutating func publish(_ kept: ArraySlice<Entry>, hardState: HardState, written: Written, durable: UInt64) {
        if let first = kept.first?.index, let placement = written.placement {
            // Every entry of the write is located at its first frame; the others follow it.
            index.replace(from: first) { positions in
                for entry in kept { positions.append(index: entry.index, term: entry.term, at: placement) }
            }
            tail.truncate(after: first - 1)
            tail.append(contentsOf: kept)
            durability.wrote(written.sequence, from: first, through: index.lastIndex)
        }
        if written.tail != tailSegment {
            // The write cut the tail: its entries are in a sealed segment now, read from there.
            tail = EntrySlots(after: index.lastIndex)
            tailSegment = written.tail
        }
        if !hardState.isEmpty { self.hardState = hardState }
        durability.durable(through: durable)
    }

    /// `MemoryStorage.Compact` of the index, and of the tail's entries.
    mutating func compact(through boundary: UInt64) throws(StorageError) {
        try index.compact(through: boundary)
        tail.drop(through: boundary)
        releaseLimit = max(releaseLimit, min(boundary, index.boundaryIndex))
    }

    /// Drops every entry: the log starts after `marker` (an installed snapshot), durable.
    mutating func reset(after marker: SnapshotMarker) {
        index.reset(boundaryIndex: marker.index, term: marker.term)
        tail = EntrySlots(after: marker.index)
        durability = DurabilityTracker(durableIndex: marker.index)
        releaseLimit = max(releaseLimit, marker.index)
    }
}

/// Which of a log's entries are on disk: writes are numbered by the WAL (``WAL/saveWithoutSync(hardState:entries:)``);
/// once write `n` is durable, so is the log as it stood after write `n`, except where later
/// writes (not yet durable) replaced entries.
struct DurabilityTracker: Sendable {
    /// Every entry up to here is durable.
    private(set) var durableIndex: UInt64
    /// Writes not yet known to be durable, in order: their number, the first index they wrote
    /// and the log's last index after them.
    private var pending: [(sequence: UInt64, first: UInt64, last: UInt64)] = []
    private var pendingStart = 0

    init(durableIndex: UInt64) {
        self.durableIndex = durableIndex
    }

    /// Write `sequence` wrote entries `first...last` (replacing any from `first` on).
    mutating func wrote(_ sequence: UInt64, from first: UInt64, through last: UInt64) {
        durableIndex = min(durableIndex, first - 1)
        pending.append((sequence, first, last))
    }

    /// Every write through `sequence` is durable.
    mutating func durable(through sequence: UInt64) {
        var newest: UInt64?
        while pendingStart < pending.count && pending[pendingStart].sequence <= sequence {
            newest = pending[pendingStart].last
            pendingStart += 1
        }
        if pendingStart > 64 && pendingStart * 2 > pending.count {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
        guard var durable = newest else { return }
        // Later writes, not yet durable, may have replaced some of those entries.
        for write in pending[pendingStart...] { durable = min(durable, write.first - 1) }
        durableIndex = max(durableIndex, durable)
    }
}
