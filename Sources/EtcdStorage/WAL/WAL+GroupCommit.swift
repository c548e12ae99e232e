public import RaftStorage
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        var role = await groupCommit.enter(sequence)
        while true {
            switch role {
            case .durable:
                return
            case .failed(let error):
                throw error
            case .lead:
                // On the sync thread, which then syncs again, back to back, as long as writes
                // wait: handing the next sync to a waiting task would cost two thread hops
                // per group (measured: a third of the throughput with fast fdatasyncs).
                role = await withCheckedContinuation { continuation in
                    syncThread.submit {
                        let clock = ContinuousClock()
                        var started = clock.now
                        let (role, more) = self.syncRound(for: sequence)
                        continuation.resume(returning: role)
                        var again = more
                        while true {
                            // Give the writers the last sync released a moment (at most half a
                            // sync) to write again, so they join this group instead of
                            // splitting into two cohorts that take turns, and so a writer
                            // that comes back finds the sync thread still leading.
                            self.groupCommit.gather(until: clock.now + (clock.now - started) / 2)
                            if !again && !self.groupCommit.keepLeading() { break }
                            started = clock.now
                            again = self.syncRound(for: nil).more
                        }
                    }
                }
            }
        }
    }

    /// The writes made durable so far: every sequence number up to this one.
    public var durableSequence: UInt64 { writer.withLock { $0.durableSequence } }

    /// One group's sync: flush under the lock, fdatasync outside it, then wake the group.
    /// Returns the role of the write `sequence` that started it (`nil` for a round started for
    /// the waiters), and whether writes still wait for a sync.
    private func syncRound(for sequence: UInt64?) -> (role: GroupCommit.Role, more: Bool) {
        let pending: WALWriter<Codec>.PendingSync?
        do throws(StorageError) {
            pending = try writer.withLock { (writer) throws(StorageError) in
                try writer.guarded { (writer) throws(StorageError) in try writer.prepareSync() }
            }
        } catch {
            return (groupCommit.fail(error), false)
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
            if !covered { return (groupCommit.fail(error), false) }
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
        /// Start the next sync.
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
        /// How many writers the last sync released.
        var lastGroup = 0
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

    /// A sync made everything through `durable` durable: wake the waiters it covers. Returns
    /// the role of write `sequence` (which started the sync; `nil` for none) and whether other
    /// writes wait. The sync stays "in flight" either way, until ``keepLeading()`` ends it.
    func finish(through durable: UInt64, for sequence: UInt64?) -> (role: Role, more: Bool) {
        var woken: [CheckedContinuation<Role, Never>] = []
        let more: Bool = state.withLock { state in
            state.durable = max(state.durable, durable)
            var remaining: [Waiter] = []
            for waiter in state.waiters {
                if waiter.sequence <= state.durable { woken.append(waiter.continuation) } else { remaining.append(waiter) }
            }
            state.waiters = remaining
            state.lastGroup = woken.count + (sequence == nil ? 0 : 1)
            return !remaining.isEmpty || (sequence.map { $0 > state.durable } ?? false)
        }
        for continuation in woken { continuation.resume(returning: .durable) }
        // The write that started the sync was made before it, so the sync covers it.
        return (.durable, more)
    }

    /// Waits (yielding the CPU) until as many writers wait as the last sync released, or
    /// `deadline`.
    func gather(until deadline: ContinuousClock.Instant) {
        let clock = ContinuousClock()
        while clock.now < deadline {
            let ready = state.withLock { $0.failure != nil || $0.waiters.count >= $0.lastGroup }
            if ready { return }
            sched_yield()
        }
    }

    /// After a sync that left no one waiting and a gather: whether writes came to wait (the
    /// leader syncs again), or the sync is no longer in flight (the next writer leads).
    func keepLeading() -> Bool {
        state.withLock { state in
            if state.waiters.isEmpty { state.syncing = false }
            return state.syncing
        }
    }

    /// A sync failed: every waiter fails, and every later caller.
    func fail(_ error: StorageError) -> Role {
        let waiters = state.withLock { state in
            state.failure = state.failure ?? error
            state.syncing = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: .failed(error)) }
        return .failed(error)
    }

    /// The WAL was opened again (``WAL/reopen(check:open:)``) and every write through `durable`
    /// is durable: an earlier failure no longer applies to the writes that follow.
    func restart(durable: UInt64) {
        state.withLock { $0.failure = nil }
        advance(to: durable)
    }

    /// Writes through `durable` are durable without a sync round (``WAL/close()``, a reopen):
    /// wakes the waiters they cover.
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

