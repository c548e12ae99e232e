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
    let syncThread = SyncThread()

    init(directory: String, metadata: [UInt8]?, writer: consuming WALWriter<Codec>) {
        self.directory = directory
        self.metadata = metadata
        self.syncer = WALSyncer(options: writer.options, instruments: writer.instruments)
        self.writer = Mutex(writer)
    }

    // MARK: - Writing

    /// Appends `entries` and then `hardState` (unless empty), etcd's `Save`.
    ///
    /// On return the records are durable if raft's `MustSync` rule says so (there are entries,
    /// or term or vote changed); a commit-only change may stay buffered until the next sync.
    /// When the tail segment has reached ``WALOptions/segmentSize`` it is cut, which syncs.
    public func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        _ = try save(hardState: hardState, entries: entries, deferringSync: false)
    }

    /// What a write did: its sequence number, what is durable now, where its first entry went
    /// and which segment is the tail after it.
    struct Written {
        var sequence: UInt64
        var durable: UInt64
        var placement: EntryPlacement?
        var tail: SegmentName
    }

    /// ``save(hardState:entries:)`` or ``saveWithoutSync(hardState:entries:)``, telling
    /// what the write did.
    func save(hardState: HardState, entries: [Entry], deferringSync: Bool) throws(StorageError) -> Written {
        let written = try writer.withLock { (writer) throws(StorageError) in
            try writer.guarded { (writer) throws(StorageError) in
                let (sequence, placement) = try writer.save(hardState: hardState, entries: entries, deferringSync: deferringSync)
                return Written(sequence: sequence, durable: writer.durableSequence, placement: placement, tail: writer.segments[writer.segments.count - 1].name)
            }
        }
        groupCommit.advance(to: written.durable)
        return written
    }

    /// The segment being appended to.
    var tailSegment: SegmentName? { writer.withLock { $0.segments.last?.name } }

    /// Records a snapshot marker, durable on return (etcd's `SaveSnapshot`).
    public func saveSnapshot(_ marker: SnapshotMarker) throws(StorageError) {
        let durable = try writer.withLock { (writer) throws(StorageError) in
            try writer.guarded { (writer) throws(StorageError) in
                try writer.saveSnapshot(marker)
                return writer.durableSequence
            }
        }
        groupCommit.advance(to: durable)
    }

    /// Makes everything written so far durable.
    public func sync() throws(StorageError) {
        let durable = try writer.withLock { (writer) throws(StorageError) in
            try writer.guarded { (writer) throws(StorageError) in
                try writer.sync()
                return writer.durableSequence
            }
        }
        groupCommit.advance(to: durable)
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
        try writer.withLock { (writer) throws(StorageError) in
            try writer.guarded { (writer) throws(StorageError) in try writer.releaseSegments(below: index) }
        }
    }

    /// Deletes released segments, oldest first, keeping the newest `keeping` segment files
    /// (etcd's `--max-wals` purge); it stops at the first segment still held.
    ///
    /// - Returns: the paths removed.
    @discardableResult
    public func purgeReleasedSegments(keeping: Int) throws(StorageError) -> [String] {
        try writer.withLock { (writer) throws(StorageError) in
            if let unusable = writer.unusable { throw unusable }
            return try writer.purgeReleasedSegments(keeping: keeping)
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
        try writer.withLock { (writer) throws(StorageError) in try writer.close() }
    }
}
