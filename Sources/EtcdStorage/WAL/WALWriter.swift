import Logging
import CoreMetrics
import RaftStorage
import RaftFiles

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
    /// Counts writes (saves and snapshot records): write `n` is durable once
    /// ``durableSequence`` reaches `n` (group commit, ``WAL/waitUntilDurable(_:)``).
    var writeSequence: UInt64 = 0
    /// Every write up to this one has been fdatasynced.
    var durableSequence: UInt64 = 0
    /// Set after a failed write or fsync, or by ``close()``.
    var unusable: StorageError?
    /// Every sync of this writer's files goes through it, the group-commit thread's too, so
    /// two never run at once and none runs after one failed (``RaftFiles/SyncGate``).
    let syncGate = SyncGate()
    var isClosed = false

    struct HeldSpare {
        var path: String
        var file: any StorageFile
    }

    // MARK: - Failures

    // What a save, a snapshot record or a sync does is WAL.swift's "write route"; this file
    // keeps the writer's state, how a failure stops it, group commit's two halves of a sync and
    // closing.

    /// Checks the WAL still accepts writes, and poisons it if `body` fails.
    mutating func guarded<Result>(_ body: (inout Self) throws(StorageError) -> Result) throws(StorageError) -> Result {
        if let unusable { throw unusable }
        do {
            return try body(&self)
        } catch {
            if unusable == nil {
                unusable = StorageError(.closed, "the WAL refuses writes after an earlier failure (\(error)); reopen it", path: directory)
                if error.code == .io { markTailNotDurable() }
            }
            throw error
        }
    }

    /// Leaves a note for the next open that the tail may hold data that is visible but not on
    /// disk: after a failed fsync, Linux may drop the dirty pages yet keep serving them from the
    /// page cache, and no later fsync writes them ("fsyncgate"). The note needs no fsync: it
    /// matters only until the machine restarts, and then the page cache is gone with the data.
    func markTailNotDurable() {
        let path = fileSystem.join(directory, WALDirectory.tailNotDurableMarker)
        if let file = try? fileSystem.open(path, [.write, .create], permissions: 0o600) { try? file.close() }
    }

    /// Makes the first `end` bytes of the tail durable whatever became of earlier fsyncs: reads
    /// them (the page cache serves what the WAL wrote), writes them again, fdatasyncs, and
    /// fsyncs the directory (a failed cut may have left the tail's name undurable).
    mutating func rewriteTail(through end: Int64) throws(StorageError) {
        let file = tail.file
        try file.writeAgain(through: end)
        try syncData(file, through: 0)
        try fileSystem.syncDirectory(directory)
        options.logger.warning("rewrote the WAL tail after an earlier write or fsync failure", metadata: ["path": "\(file.path)", "bytes": "\(end)"])
    }

    /// What a sync made outside the writer's lock covers (group commit).
    struct PendingSync {
        /// The tail, flushed: fdatasync it.
        var file: any StorageFile
        /// The last write it covers.
        var sequence: UInt64
        /// The HardState it makes durable.
        var state: HardState
        /// The writer's gate, which the fdatasync goes through.
        var gate: SyncGate
    }

    /// The first half of a sync that runs outside the lock, so writers can go on appending
    /// while the fdatasync is in flight: flush the page buffer and say what the fdatasync of
    /// the tail will cover (every write before this call; earlier segments were synced when
    /// they were cut). `nil` when everything is already durable.
    mutating func prepareSync() throws(StorageError) -> PendingSync? {
        guard durableSequence < writeSequence else { return nil }
        try flush()
        return PendingSync(file: tail.file, sequence: writeSequence, state: lastState, gate: syncGate)
    }

    /// The second half: the fdatasync of `pending` succeeded.
    mutating func completeSync(_ pending: PendingSync) {
        if pending.sequence > durableSequence {
            durableSequence = pending.sequence
            syncedState = pending.state
        }
    }

    /// fdatasync with timing, the slow-sync warning and the fsync metric, through the gate:
    /// `sequence` is the last write it makes durable (0 for a file other than the tail's data).
    func syncData(_ file: any StorageFile, through sequence: UInt64) throws(StorageError) {
        let syncer = WALSyncer(options: options, instruments: instruments)
        try syncGate.sync(through: sequence) { () throws(StorageError) in try syncer.syncData(file) }
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
            do {
                try sync()
            } catch {
                firstError = error
                markTailNotDurable()
            }
        }
        for segment in segments {
            do { try segment.file.close() } catch { firstError = firstError ?? error }
        }
        segments.removeAll()
        unusable = StorageError(.closed, "the WAL is closed", path: directory)
        if let firstError { throw firstError }
    }
}

/// fdatasync with timing, the slow-sync warning and the fsync metric; usable outside the
/// writer's lock (group commit).
struct WALSyncer: Sendable {
    let options: WALOptions
    let instruments: WALInstruments

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
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension StorageError {
    /// Whether this is the file system's "no space left on device" (`ENOSPC`, 28 on Linux and
    /// Darwin alike).
    var isOutOfSpace: Bool { code == .io && errno == 28 }
}
