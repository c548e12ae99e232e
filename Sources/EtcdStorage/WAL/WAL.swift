import CoreMetrics
import Logging
public import RaftStorage
public import RaftFiles
import Synchronization

/// An etcd-compatible write-ahead log: segment files of framed records with a CRC32C chain,
/// byte for byte what etcd's `wal` package writes and reads (see `Docs/OnDiskFormat.md`).
///
/// ```swift
/// let codec = ProtobufRecordCodec()
/// let wal = try WAL.create(at: "data/wal", metadata: nil, codec: codec)
/// try wal.save(hardState: HardState(term: 1, vote: 1, commit: 0), entries: [Entry(term: 1, index: 1)])
/// try wal.close()
///
/// let (reopened, replay) = try WAL.open(at: "data/wal", from: .zero, codec: codec)
/// // replay.entries, replay.hardState; reopened appends after the last valid record
/// ```
///
/// A `WAL` returned by ``create(at:metadata:codec:options:)`` or
/// ``open(at:from:codec:options:replayOptions:)`` is the only writer of its directory: it holds
/// a lock on every segment it may still need, so a second writer gets
/// ``RaftStorage/StorageError/Code/locked``. Readers (``read(at:from:codec:options:replayOptions:)``,
/// ``verify(at:from:codec:options:)``, ``validSnapshotMarkers(at:codec:options:)``) take no
/// locks.
///
/// After a failed write or fsync every further write throws ``RaftStorage/StorageError/Code/closed``
/// until the WAL is reopened, because what reached the disk is unknown.
///
/// Thread safety: every method may be called from any task; writes are serialised.
public final class WAL<Codec: RecordCodec>: Sendable {
    /// The WAL's directory.
    public let directory: String
    /// The application's metadata, as recorded when the WAL was created.
    public let metadata: [UInt8]?
    let writer: Mutex<WALWriter<Codec>>
    /// Who waits for which write to become durable (``waitUntilDurable(_:)``).
    let groupCommit = GroupCommit()
    /// How fdatasyncs made outside the writer's lock are timed and reported.
    let syncer: WALSyncer
    /// Where group commit's fdatasyncs run.
    let syncThread = BlockingThread()

    init(directory: String, metadata: [UInt8]?, writer: consuming WALWriter<Codec>) {
        self.directory = directory
        self.metadata = metadata
        self.syncer = WALSyncer(options: writer.options, instruments: writer.instruments)
        self.writer = Mutex(writer)
    }

    // MARK: - Writing

    /// Runs `body` with the writer under the WAL's writer lock: the route of every write,
    /// whoever makes it (this class's methods, and ``WALLogStore``, which checks and publishes
    /// its index in the same critical section, so this lock serialises its writers too).
    ///
    /// A write takes no other lock of the WAL. Group commit's waiters (``waitUntilDurable(_:)``)
    /// are not told here what a synced save, a sync or a snapshot record made durable: a waiter
    /// only ever waits while a sync round is in flight, and every round reports the writer's
    /// durable sequence when it ends, covering those writes too. Only ``close()`` wakes them
    /// itself, as no round follows it.
    func withWriter<Result>(_ body: (inout WALWriter<Codec>) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try writer.withLock { (writer) throws(StorageError) -> Result in try body(&writer) }
    }

    /// Appends `entries` and then `hardState` (unless empty), etcd's `Save`.
    ///
    /// On return the records are durable if raft's `MustSync` rule says so (there are entries,
    /// or term or vote changed); a commit-only change may stay buffered until the next sync.
    /// When the tail segment has reached ``WALOptions/segmentSize`` it is cut, which syncs.
    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        _ = try withWriter { (writer) throws(StorageError) in
            try writer.save(hardState: hardState, entries: entries, deferringSync: false)
        }
    }

    /// Records a snapshot marker, durable on return (etcd's `SaveSnapshot`).
    public func saveSnapshot(_ marker: SnapshotMarker) throws(StorageError) {
        try withWriter { (writer) throws(StorageError) in try writer.saveSnapshot(marker) }
    }

    /// Makes everything written so far durable.
    public func sync() throws(StorageError) {
        try withWriter { (writer) throws(StorageError) in
            try writer.guarded { (writer) throws(StorageError) in try writer.sync() }
        }
    }

    /// Closes the writer and puts a new one in its place, opened by `open`, with no write in
    /// between (``WALLogStore/resume(from:)``): `check` runs first, under the writer lock, and
    /// may refuse; the writer is then closed (which syncs it and releases its segments' locks)
    /// before `open` runs. When `open` throws, the WAL stays closed.
    func reopen(
        check: () throws(StorageError) -> Void, open: () throws(StorageError) -> sending WALWriter<Codec>
    ) throws(StorageError) {
        try withWriter { (writer) throws(StorageError) in
            try check()
            try writer.close()
            // Sequence numbers go on from the closed writer's, all of whose writes closing made
            // durable: group commit compares them with what waiters were given.
            let sequence = writer.writeSequence
            var fresh = try open()
            fresh.writeSequence += sequence
            fresh.durableSequence += sequence
            writer = fresh
        }
        // What the closed writer wrote is durable, and its failure, if any, is behind it.
        groupCommit.restart(durable: durableSequence)
    }

    /// The last HardState written through this WAL (or replayed when it was opened).
    public var lastHardState: HardState { writer.withLock { $0.lastState } }

    /// The last HardState known to be durable: written and fsynced (with
    /// ``WALOptions/unsafeNoSync``, written).
    public var syncedHardState: HardState { writer.withLock { $0.syncedState } }

    /// The segments this WAL holds locked, oldest first.
    public var heldSegments: [SegmentName] { writer.withLock { $0.segments.map(\.name) } }

    // MARK: - Releasing segments

    /// Unlocks the segments that are no longer needed to read from a snapshot at `index`
    /// (etcd's `ReleaseLockTo`): every held segment whose name index is below `index`, except
    /// the newest of them. The tail is never released.
    ///
    /// Call it only once a snapshot at `index` is recorded and a HardState committing it is
    /// durable, or a crash can leave a log that cannot be opened (etcd #10219).
    public func releaseSegments(below index: UInt64) throws(StorageError) {
        try withWriter { (writer) throws(StorageError) in
            try writer.guarded { (writer) throws(StorageError) in try writer.releaseSegments(below: index) }
        }
    }

    /// Deletes released segments, oldest first, keeping the newest `keeping` segment files
    /// (etcd's `--max-wals` purge); it stops at the first segment still held.
    ///
    /// - Returns: the paths removed.
    @discardableResult
    public func purgeReleasedSegments(keeping: Int) throws(StorageError) -> [String] {
        try withWriter { (writer) throws(StorageError) in
            // A failed removal or directory fsync leaves the directory unknown: no more writes.
            try writer.guarded { (writer) throws(StorageError) in try writer.purgeReleasedSegments(keeping: keeping) }
        }
    }

    deinit {
        syncThread.stop()
    }

    /// Syncs the tail, deletes the spare segment and closes every file, releasing the locks.
    /// Calling it again does nothing; other calls afterwards throw ``RaftStorage/StorageError/Code/closed``.
    public func close() throws(StorageError) {
        // close() syncs: whoever waits for a write it covers may return.
        defer {
            groupCommit.advance(to: writer.withLock { $0.durableSequence })
            syncThread.stop()
        }
        try withWriter { (writer) throws(StorageError) in try writer.close() }
    }
}

// MARK: - The write route

// Everything a write does below the writer lock, in one place: etcd's `Save` and `SaveSnapshot`
// frame records into the tail's page buffer (``PageWriter``), cut the tail when it is full
// (WALWriter+Segments.swift), and sync by raft's rule: flush the buffer to the file, then
// fdatasync it.

/// What one save wrote (``WALWriter/save(hardState:entries:deferringSync:)``).
struct Written: Sendable {
    /// The write's sequence number (the last one when nothing was written).
    var sequence: UInt64
    /// Where the write's first entry's frame went; the others follow it. `nil` without entries.
    var placement: EntryPlacement?
    /// The tail segment after the write: a later one than before when the write cut the tail.
    var tail: SegmentName
}

extension WALWriter {
    /// Appends one framed record to the tail's page buffer.
    mutating func append(_ record: LogRecord) throws(StorageError) {
        try tail.append(record, codec: codec, crc: &crc)
    }

    /// etcd's `Save` (Docs/OnDiskFormat.md, Writing, syncing and cutting), the one
    /// implementation of a save: appends `entries` and then `hardState` (unless empty), cuts
    /// the tail once it reaches the segment size, and otherwise syncs by raft's `MustSync`
    /// rule unless `deferringSync` (the caller syncs later, see ``prepareSync()``).
    ///
    /// Refuses when the WAL is unusable, and makes it unusable when it fails.
    ///
    /// - Returns: the write's sequence number, where its first entry's frame went (the others
    ///   follow it) and the tail segment after it.
    mutating func save(hardState: HardState, entries: [Entry], deferringSync: Bool) throws(StorageError) -> Written {
        try guarded { (writer) throws(StorageError) in
            try writer.append(hardState: hardState, entries: entries, deferringSync: deferringSync)
        }
    }

    private mutating func append(hardState: HardState, entries: [Entry], deferringSync: Bool) throws(StorageError) -> Written {
        if hardState.isEmpty && entries.isEmpty { return Written(sequence: writeSequence, placement: nil, tail: tailName) }
        writeSequence += 1
        let mustSync = hardState.mustSync(previous: lastState, entryCount: entries.count) && !deferringSync
        var placement: EntryPlacement?
        if !entries.isEmpty {
            placement = EntryPlacement(segment: tailName, offset: tail.endOffset, crcBefore: crc)
            highestIndex = max(highestIndex, try tail.append(entries: entries, codec: codec, crc: &crc))
        }
        if !hardState.isEmpty {
            try append(.hardState(hardState))
            lastState = hardState
        }
        if tail.endOffset >= options.segmentSize {
            try cut()
        } else if mustSync {
            try sync()
        }
        return Written(sequence: writeSequence, placement: placement, tail: tailName)
    }

    /// The name of the tail segment, the one being appended to.
    var tailName: SegmentName { segments[segments.count - 1].name }

    /// etcd's `SaveSnapshot`: a snapshot record, always synced. Refuses when the WAL is
    /// unusable, and makes it unusable when it fails.
    mutating func saveSnapshot(_ marker: SnapshotMarker) throws(StorageError) {
        try guarded { (writer) throws(StorageError) in
            guard marker.index < .max else {
                throw StorageError(.invalidArgument, "a snapshot at index \(marker.index) leaves no index for the log after it")
            }
            writer.writeSequence += 1
            try writer.append(.snapshot(marker))
            writer.highestIndex = max(writer.highestIndex, marker.index)
            try writer.sync()
        }
    }

    /// Flushes the page buffer and fdatasyncs the tail (unless `unsafeNoSync`).
    mutating func sync() throws(StorageError) {
        try flush()
        try syncData(tail.file, through: writeSequence)
        syncedState = lastState
        durableSequence = writeSequence
    }

    /// Writes what the tail's page buffer holds (``flush(_:options:instruments:)``).
    mutating func flush() throws(StorageError) {
        try Self.flush(&tail, options: options, instruments: instruments)
    }

    /// Writes what `writer` buffers with the zeros of ``WALOptions/zeroFillAhead`` and counts
    /// the bytes. Without fsync the write is padded to the next 128 KiB boundary
    /// (``PageWriter/flush(paddingWithin:)``); with fsync a window of zeros is written ahead of
    /// the records before the fdatasync that follows (``PageWriter/zeroAhead(window:limit:)``).
    /// That window only speeds up later fdatasyncs, so failing to write it fails nothing: the
    /// segment goes on without it (a real I/O error shows in the fdatasync that follows).
    static func flush(_ writer: inout PageWriter, options: WALOptions, instruments: WALInstruments) throws(StorageError) {
        let zeros = options.zeroFillAhead > 0
        try writer.flush(paddingWithin: options.unsafeNoSync && zeros ? options.segmentSize : 0)
        if !options.unsafeNoSync && zeros {
            do {
                try writer.zeroAhead(window: options.zeroFillAhead, limit: options.segmentSize)
            } catch {
                writer.stopZeroing()
                options.logger.debug("zeros ahead of the records not written", metadata: ["path": "\(writer.file.path)", "error": "\(error)"])
            }
        }
        instruments.bytesWritten.increment(by: writer.takeWrittenCount())
    }
}
