package import RaftStorage
import Synchronization

/// Lets one sync of a log's current file run at a time, and remembers a failed one.
///
/// Linux reports a failed writeback once per open file: of two fdatasyncs of the same file
/// descriptor running at once, one may return the error and the other success, though the
/// pages the second was to make durable were lost. A log whose group-commit thread syncs
/// outside the writer's lock, while a writer under the lock syncs too (a save raft's MustSync
/// asks for, a cut, a close), could then acknowledge a write as durable after a failed sync.
/// Through the gate the second sync waits for the first, and after a failure it throws that
/// failure instead of syncing.
package final class SyncGate: Sendable {
    private struct State {
        var failure: StorageError?
        /// Every write numbered up to this one is durable (by a sync through the gate).
        var durableThrough: UInt64 = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Runs `sync`, which makes every write through `sequence` durable, unless a sync through
    /// the gate already did (then it returns at once: the file may be closed by now) and
    /// `evenIfDurable` is false. A sync of another file of the log (a new segment, a spare)
    /// passes 0 and always runs.
    ///
    /// - Throws: what `sync` throws, which every later call then throws too; the failure of an
    ///   earlier sync, without running `sync`.
    package func sync(through sequence: UInt64, evenIfDurable: Bool = false, _ sync: () throws(StorageError) -> Void) throws(StorageError) {
        try state.withLock { (state) throws(StorageError) in
            if let failure = state.failure { throw failure }
            if !evenIfDurable && sequence > 0 && state.durableThrough >= sequence { return }
            do throws(StorageError) {
                try sync()
            } catch {
                state.failure = error
                throw error
            }
            state.durableThrough = max(state.durableThrough, sequence)
        }
    }
}
