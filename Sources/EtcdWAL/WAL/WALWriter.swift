import Logging
import CoreMetrics
import RaftStorage

/// A segment this WAL holds open and locked.
struct HeldSegment {
    var name: SegmentName
    var file: any StorageFile
}

/// The mutable state of a WAL open for writing; ``WAL`` keeps it behind a mutex.
///
/// After any failed write or fsync it refuses every further write with
/// ``RaftStorage/StorageError/Code/closed``: what reached the disk is unknown (fsync failures may drop
/// dirty pages), so the WAL must be reopened, which replays what is really there.
struct WALWriter<Codec: RecordCodec> {
    let directory: String
    let codec: Codec
    let options: WALOptions
    let instruments: WALInstruments
    var fileSystem: any FileSystem { options.fileSystem }

    /// Held segments in name order; the last one is the tail being appended to.
    var segments: [HeldSegment]
    var tail: PageWriter
    var crc: UInt32
    /// The highest index written in an entry or snapshot record: names the next segment.
    var highestIndex: UInt64
    /// The stored metadata record's bytes (with the codec tag).
    let storedMetadata: [UInt8]?
    /// The last HardState written (etcd's `w.state`), initialised from the replay so a segment
    /// cut after reopening still starts with it.
    var lastState: HardState
    /// The last HardState known to be on disk (written and fsynced).
    var syncedState: HardState
    /// The preallocated next segment (`0.tmp` or `1.tmp`).
    var spare: HeldSpare?
    var spareCount = 0
    /// Set after a failed write or fsync, or by ``close()``.
    var unusable: StorageError?
    var isClosed = false

    struct HeldSpare {
        var path: String
        var file: any StorageFile
    }

    // MARK: - Writes

    /// Checks the WAL still accepts writes, and poisons it if `body` fails.
    mutating func guarded<Result>(_ body: (inout Self) throws(StorageError) -> Result) throws(StorageError) -> Result {
        if let unusable { throw unusable }
        do {
            return try body(&self)
        } catch {
            if unusable == nil {
                unusable = StorageError(.closed, "the WAL refuses writes after an earlier failure (\(error)); reopen it", path: directory)
            }
            throw error
        }
    }

    mutating func append(_ record: LogRecord) throws(StorageError) {
        try tail.append(record, codec: codec, crc: &crc)
    }

    /// etcd's `Save` (etcd-storage-spec 1.8.3).
    mutating func save(hardState: HardState, entries: [Entry]) throws(StorageError) {
        if hardState.isEmpty && entries.isEmpty { return }
        let mustSync = hardState.mustSync(previous: lastState, entryCount: entries.count)
        if !entries.isEmpty {
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
    }

    /// etcd's `SaveSnapshot`: a snapshot record, always synced.
    mutating func saveSnapshot(_ marker: SnapshotMarker) throws(StorageError) {
        try append(.snapshot(marker))
        highestIndex = max(highestIndex, marker.index)
        try sync()
    }

    /// Flushes the page buffer and fdatasyncs the tail (unless `unsafeNoSync`).
    mutating func sync() throws(StorageError) {
        try flush()
        try syncData(tail.file)
        syncedState = lastState
    }

    mutating func flush() throws(StorageError) {
        try tail.flush()
        instruments.bytesWritten.increment(by: tail.takeWrittenCount())
    }

    /// fdatasync with timing, the slow-sync warning and the fsync metric.
    func syncData(_ file: any StorageFile) throws(StorageError) {
        guard !options.unsafeNoSync else { return }
        let clock = ContinuousClock()
        let started = clock.now
        try file.syncData()
        let took = clock.now - started
        instruments.fsyncDuration.recordNanoseconds(took.nanoseconds)
        if took > options.slowSyncThreshold {
            options.logger.warning("slow fdatasync", metadata: [
                "took": "\(took)", "expected-duration": "\(options.slowSyncThreshold)", "path": "\(file.path)",
            ])
        }
    }

    // MARK: - Closing

    /// Deletes the spare, syncs the tail (unless the WAL failed), and closes every file.
    mutating func close() throws(StorageError) {
        if isClosed { return }
        isClosed = true
        var firstError: StorageError?
        if let spare {
            try? spare.file.close()
            try? fileSystem.removeFile(spare.path)
            self.spare = nil
        }
        if unusable == nil {
            do { try sync() } catch { firstError = error }
        }
        for segment in segments {
            do { try segment.file.close() } catch { firstError = firstError ?? error }
        }
        segments.removeAll()
        unusable = StorageError(.closed, "the WAL is closed", path: directory)
        if let firstError { throw firstError }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
