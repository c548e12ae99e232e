public import RaftStorage
import RaftFiles

/// A batch of entries from a streamed replay
/// (``WAL/replay(at:from:codec:options:replayOptions:batchBytes:_:)``).
///
/// Apply batches in order, each as raft's `MemoryStorage.Append` would: when ``restart`` is set
/// first drop every entry applied so far (the log now starts after that snapshot marker); then
/// the first entry replaces any entry already applied at its index and every entry after it,
/// and the others follow it without gaps.
public struct WALReplayBatch: Sendable {
    /// When set, the log starts again after this snapshot marker: drop every entry applied
    /// before this batch (only with ``WALReplayOptions/restartsAtUnmatchedSnapshots``).
    public var restart: SnapshotMarker?
    /// Entries in index order without gaps; may be empty when the batch only restarts the log.
    public var entries: [Entry]
    /// The segment file the entries were read from (the last one, when a batch spans two).
    public var segment: String
}

extension WAL {
    /// Reads the WAL in `directory` from the snapshot marker `start`, as
    /// ``read(at:from:codec:options:replayOptions:)`` does, but hands the entries to `body`
    /// in batches instead of keeping them: memory stays at about one batch however long the log
    /// is (etcd's `ReadAll` holds every entry, which is how large logs run nodes out of memory
    /// on restart, etcd #10872).
    ///
    /// ```swift
    /// let summary = try WAL.replay(at: "data/wal", from: .zero, codec: ProtobufRecordCodec()) { batch in
    ///     if let marker = batch.restart { storage.reset(after: marker) }
    ///     try storage.append(batch.entries)   // replaces from the first entry's index
    /// }
    /// if let error = summary.error { ... }  // entries before the error were delivered
    /// ```
    ///
    /// A batch is delivered when its entries' data reaches `batchBytes` (or it holds one entry
    /// larger than that), at the end of each segment, and at the end. Record-level problems end
    /// the replay and are returned in ``WALReplay/error``, as ``read(at:from:codec:options:replayOptions:)``
    /// does; entries before them have been delivered. The returned summary has every field but
    /// ``WALReplay/entries``, which stays empty.
    ///
    /// - Parameters:
    ///   - directory: the WAL's directory.
    ///   - start: the snapshot marker to read from, as for ``read(at:from:codec:options:replayOptions:)``.
    ///   - codec: the codec the WAL was written with.
    ///   - options: the file system and logger to use.
    ///   - replayOptions: record collection and restarts at unmatched snapshot markers.
    ///   - batchBytes: the entry data (``RaftStorage/Entry/encodedSize``) a batch collects before
    ///     it is delivered.
    ///   - body: called with each batch, in order; an error it throws ends the replay and is
    ///     rethrown.
    /// - Throws: what `body` throws; ``RaftStorage/StorageError/Code/notFound`` when no segment
    ///   can hold `start` or the sequence has a gap; I/O errors.
    public static func replay(
        at directory: String, from start: SnapshotMarker, codec: Codec,
        options: WALOptions = WALOptions(), replayOptions: WALReplayOptions = WALReplayOptions(),
        batchBytes: Int = 4 << 20, _ body: (WALReplayBatch) throws(StorageError) -> Void
    ) throws(StorageError) -> WALReplay {
        let fileSystem = options.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        let selected = try WALDirectory.select(names, snapshotIndex: start.index, directory: directory)
        return try withoutActuallyEscaping(body) { (body) throws(StorageError) in
            let paths = selected.map { fileSystem.join(directory, $0.fileName) }
            var sink = StreamingSink(batchBytes: batchBytes, paths: paths, deliver: body)
            let replay = WALReplay.run(codec: codec, fileSystem: fileSystem, paths: paths, start: start, options: replayOptions, sink: &sink)
            if let failure = sink.failure { throw failure }
            // Entries read before a record error are good: deliver them too.
            try sink.flush()
            return replay
        }
    }
}

/// ``WAL/replay(at:from:codec:options:replayOptions:batchBytes:_:)``'s sink: entries in
/// batches of about `batchBytes`.
struct StreamingSink: ReplaySink {
    let batchBytes: Int
    let paths: [String]
    let deliver: (WALReplayBatch) throws(StorageError) -> Void
    private var batch = WALReplayBatch(restart: nil, entries: [], segment: "")
    private var bytes = 0
    /// What `deliver` threw: it ends the replay and is rethrown, unlike record errors.
    private(set) var failure: StorageError?

    init(batchBytes: Int, paths: [String], deliver: @escaping (WALReplayBatch) throws(StorageError) -> Void) {
        self.batchBytes = max(batchBytes, 1)
        self.paths = paths
        self.deliver = deliver
    }

    mutating func append(_ entry: consuming Entry, at position: RecordPosition) throws(StorageError) {
        // An entry that replaces some of the pending batch drops them here; one that replaces
        // delivered entries starts the batch, which says so by its first index.
        if let first = batch.entries.first?.index, entry.index <= batch.entries[batch.entries.count - 1].index {
            if entry.index <= first {
                batch.entries.removeAll(keepingCapacity: true)
                bytes = 0
            } else {
                let kept = Int(entry.index - first)
                for dropped in batch.entries[kept...] { bytes -= dropped.encodedSize }
                batch.entries.removeSubrange(kept...)
            }
        }
        bytes += entry.encodedSize
        batch.entries.append(entry)
        batch.segment = paths[position.fileIndex]
        if bytes >= batchBytes { try flush() }
    }

    mutating func restart(at marker: SnapshotMarker) throws(StorageError) {
        batch = WALReplayBatch(restart: marker, entries: [], segment: batch.segment)
        bytes = 0
    }

    mutating func endOfSegment(_ path: String, fileIndex: Int) throws(StorageError) {
        try flush()
    }

    /// Delivers the pending batch, if it holds anything.
    mutating func flush() throws(StorageError) {
        guard !batch.entries.isEmpty || batch.restart != nil else { return }
        let delivered = batch
        batch = WALReplayBatch(restart: nil, entries: [], segment: batch.segment)
        bytes = 0
        do {
            try deliver(delivered)
        } catch {
            failure = error
            throw error
        }
    }
}
