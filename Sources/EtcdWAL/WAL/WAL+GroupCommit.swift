public import RaftStorage
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
        try save(hardState: hardState, entries: entries, deferringSync: true).sequence
    }

    /// Returns once write `sequence` (from ``saveWithoutSync(hardState:entries:)``) and
    /// every write before it are durable.
    ///
    /// Concurrent callers share fdatasyncs (group commit, as raft-engine's write group): the
    /// first caller to find no sync in flight leads one, which flushes everything written so
    /// far and fdatasyncs it outside the writer's lock, so other tasks keep writing meanwhile;
    /// when it completes, every waiter it covers returns, and one of those still waiting leads
    /// the next. The fdatasync runs on a thread of the WAL's own, never blocking a thread of
    /// the cooperative pool. Cancelling the waiting task does not stop the wait: the write was
    /// made and may become durable.
    ///
    /// A failed fdatasync fails every waiter of that group and every later one, and poisons
    /// the WAL: further writes throw ``RaftStorage/StorageError/Code/closed`` until it is
    /// reopened, because what reached the disk is unknown.
    ///
    /// - Throws: the fdatasync's error, or the error that poisoned the WAL earlier.
    public func waitUntilDurable(_ sequence: UInt64) async throws(StorageError) {
        var role = await groupCommit.enter(sequence)
        while true {
            switch role {
            case .durable:
                return
            case .failed(let error):
                throw error
            case .lead:
                // On the sync thread: meanwhile tasks that are ready to write (those the last
                // sync just released) write first, so this sync covers them too.
                role = await withCheckedContinuation { continuation in
                    syncThread.submit { continuation.resume(returning: self.leadSync(for: sequence)) }
                }
            }
        }
    }

    /// The writes made durable so far: every sequence number up to this one.
    public var durableSequence: UInt64 { writer.withLock { $0.durableSequence } }

    /// One group's sync: flush under the lock, fdatasync outside it, then wake the group.
    private func leadSync(for sequence: UInt64) -> GroupCommit.Role {
        let pending: WALWriter<Codec>.PendingSync?
        do throws(StorageError) {
            pending = try writer.withLock { (writer) throws(StorageError) in
                try writer.guarded { (writer) throws(StorageError) in try writer.prepareSync() }
            }
        } catch {
            return groupCommit.fail(error, for: sequence)
        }
        guard let pending else {
            return groupCommit.finish(through: writer.withLock { $0.durableSequence }, for: sequence)
        }
        do throws(StorageError) {
            try syncer.syncData(pending.file)
        } catch {
            // A close or cut in the meantime may have synced it anyway (and closed the file).
            let covered = writer.withLock { writer -> Bool in
                if writer.durableSequence >= pending.sequence { return true }
                _ = try? writer.guarded { (_: inout WALWriter<Codec>) throws(StorageError) -> Void in throw error }
                return false
            }
            if !covered { return groupCommit.fail(error, for: sequence) }
        }
        let durable = writer.withLock { writer in
            writer.completeSync(pending)
            return writer.durableSequence
        }
        return groupCommit.finish(through: durable, for: sequence)
    }
}

/// The group-commit state of one WAL: what is durable, whether a sync is in flight, and who
/// waits for which write.
final class GroupCommit: Sendable {
    enum Role: Sendable {
        /// The write is durable.
        case durable
        /// Lead the next sync.
        case lead
        /// The WAL failed; the write may not be durable.
        case failed(StorageError)
    }

    private struct Waiter {
        var sequence: UInt64
        var continuation: CheckedContinuation<Role, Never>
    }

    private struct State {
        var durable: UInt64 = 0
        var syncing = false
        var waiters: [Waiter] = []
        var failure: StorageError?
    }

    private let state = Mutex(State())

    /// What a caller waiting for `sequence` does: return, lead a sync, or wait for one.
    func enter(_ sequence: UInt64) async -> Role {
        if let role = state.withLock({ state -> Role? in
            if let failure = state.failure { return .failed(failure) }
            if state.durable >= sequence { return .durable }
            if !state.syncing {
                state.syncing = true
                return .lead
            }
            return nil
        }) {
            return role
        }
        return await withCheckedContinuation { continuation in
            let immediate = state.withLock { state -> Role? in
                // Decided again under the lock that stores the continuation, so no wake-up is lost.
                if let failure = state.failure { return .failed(failure) }
                if state.durable >= sequence { return .durable }
                if !state.syncing {
                    state.syncing = true
                    return .lead
                }
                state.waiters.append(Waiter(sequence: sequence, continuation: continuation))
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// A sync made everything through `durable` durable: wake the waiters it covers, hand the
    /// lead to the first one left. Returns the leader's own role.
    func finish(through durable: UInt64, for sequence: UInt64) -> Role {
        var woken: [CheckedContinuation<Role, Never>] = []
        var nextLeader: CheckedContinuation<Role, Never>?
        let own: Role = state.withLock { state in
            state.durable = max(state.durable, durable)
            var remaining: [Waiter] = []
            for waiter in state.waiters {
                if waiter.sequence <= state.durable { woken.append(waiter.continuation) } else { remaining.append(waiter) }
            }
            let ownDone = sequence <= state.durable
            if !ownDone {
                // Covered by neither this sync nor an earlier one (written after it began):
                // lead again.
                state.waiters = remaining
                return .lead
            }
            if remaining.isEmpty {
                state.syncing = false
            } else {
                nextLeader = remaining.removeFirst().continuation
            }
            state.waiters = remaining
            return .durable
        }
        for continuation in woken { continuation.resume(returning: .durable) }
        nextLeader?.resume(returning: .lead)
        return own
    }

    /// A sync failed: every waiter fails, and every later caller.
    func fail(_ error: StorageError, for sequence: UInt64) -> Role {
        let waiters = state.withLock { state in
            state.failure = state.failure ?? error
            state.syncing = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: .failed(error)) }
        return .failed(error)
    }

    /// A synchronous sync (``WAL/sync()``, a cut, a synced save) made writes through
    /// `durable` durable.
    func advance(to durable: UInt64) {
        let woken = state.withLock { state -> [CheckedContinuation<Role, Never>] in
            guard durable > state.durable else { return [] }
            state.durable = durable
            var woken: [CheckedContinuation<Role, Never>] = []
            state.waiters.removeAll { waiter in
                guard waiter.sequence <= durable else { return false }
                woken.append(waiter.continuation)
                return true
            }
            return woken
        }
        for continuation in woken { continuation.resume(returning: .durable) }
    }
}

