public import RaftStorage
import RaftFiles
import Synchronization

extension WAL {
    /// Writes `entries` and then `hardState` (unless empty) like
    /// ``save(hardState:entries:)`` but without syncing: the records reach the OS (or the
    /// page buffer) and the call returns at once. Pass the returned sequence number to
    /// ``waitUntilDurable(_:)`` to wait for them to be on disk; a segment cut, ``sync()`` or
    /// another caller's wait may make them durable sooner.
    ///
    /// - Returns: the write's sequence number (increasing; 0 when there was nothing to write
    ///   and nothing was ever written).
    public func saveWithoutSync(hardState: HardState, entries: [Entry]) throws(StorageError) -> UInt64 {
        try withWriter { (writer) throws(StorageError) in
            try writer.save(hardState: hardState, entries: entries, deferringSync: true).sequence
        }
    }

    /// Returns once write `sequence` (from ``saveWithoutSync(hardState:entries:)``) and
    /// every write before it are durable.
    ///
    /// Concurrent callers share fdatasyncs (group commit, as raft-engine's write group): the
    /// first caller to find no sync in flight starts one, which flushes everything written so
    /// far and fdatasyncs it outside the writer's lock, so other tasks keep writing meanwhile;
    /// when it completes, every waiter it covers returns. The sync thread then gives the
    /// writers it released up to half a sync's time to write again (it stops waiting as soon
    /// as as many wait as it released) and syncs them as the next group; only when no one came
    /// does the next writer start a sync of its own. Without that pause a group splits into a
    /// lone writer that finds no sync in flight and the rest that follow it, taking turns
    /// (measured: a quarter of the throughput of 16 writers lost). The fdatasyncs run on a
    /// thread of the WAL's own, never blocking a thread of the cooperative pool. Cancelling
    /// the waiting task does not stop the wait: the write was made and may become durable.
    ///
    /// A failed fdatasync fails every waiter of that group and every later one, and poisons
    /// the WAL: further writes throw ``RaftStorage/StorageError/Code/closed`` until it is
    /// reopened, because what reached the disk is unknown.
    ///
    /// - Throws: the fdatasync's error, or the error that poisoned the WAL earlier.
    public func waitUntilDurable(_ sequence: UInt64) async throws(StorageError) {
        try await groupCommit.waitUntilDurable(sequence, on: syncThread) { self.syncRound() }
    }

    /// The writes made durable so far: every sequence number up to this one.
    public var durableSequence: UInt64 { writer.withLock { $0.durableSequence } }

    /// One group's sync: flush under the lock, fdatasync outside it. Returns the sequence
    /// number every write through which is now durable.
    private func syncRound() -> Result<UInt64, StorageError> {
        let pending: WALWriter<Codec>.PendingSync?
        do throws(StorageError) {
            pending = try writer.withLock { (writer) throws(StorageError) in
                try writer.guarded { (writer) throws(StorageError) in try writer.prepareSync() }
            }
        } catch {
            return .failure(error)
        }
        guard let pending else { return .success(writer.withLock { $0.durableSequence }) }
        do throws(StorageError) {
            // Skipped when a sync under the lock (a cut, a close) covered it meanwhile.
            try pending.gate.sync(through: pending.sequence) { () throws(StorageError) in try syncer.syncData(pending.file) }
        } catch {
            writer.withLock { writer in
                // Not a writer that replaced this one (a resume after the sync began).
                guard writer.syncGate === pending.gate else { return }
                _ = try? writer.guarded { (_: inout WALWriter<Codec>) throws(StorageError) -> Void in throw error }
            }
            return .failure(error)
        }
        return .success(writer.withLock { writer in
            writer.completeSync(pending)
            return writer.durableSequence
        })
    }
}
