import RaftStorage
import Synchronization

/// Who waits for which write to become durable, and whether a sync is in flight: the first
/// waiter to find none leads one, on the engine's sync thread; everyone who comes while it
/// runs waits for the next, which the sync thread starts at once (one fdatasync per group of
/// writers, however many there are).
final class GroupCommit: Sendable {
    enum Role: Sendable {
        /// The write is durable.
        case durable
        /// Start the next sync.
        case lead
        /// A sync failed; the write may not be durable.
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

    /// What a caller waiting for write `sequence` does: return, lead a sync, or wait.
    func enter(_ sequence: UInt64) async -> Role {
        if let role = state.withLock({ Self.decide(sequence, &$0) }) { return role }
        return await withCheckedContinuation { continuation in
            // Decided again under the lock that stores the continuation, so no wake-up is lost.
            let immediate = state.withLock { state -> Role? in
                if let role = Self.decide(sequence, &state) { return role }
                state.waiters.append(Waiter(sequence: sequence, continuation: continuation))
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    private static func decide(_ sequence: UInt64, _ state: inout State) -> Role? {
        if let failure = state.failure { return .failed(failure) }
        if state.durable >= sequence { return .durable }
        if !state.syncing {
            state.syncing = true
            return .lead
        }
        return nil
    }

    /// A sync made every write through `durable` durable: wakes the waiters it covers. Returns
    /// whether writes still wait (the leader then syncs again); otherwise no sync is in flight
    /// any more.
    func finish(through durable: UInt64) -> Bool {
        var woken: [CheckedContinuation<Role, Never>] = []
        let more = state.withLock { state in
            state.durable = max(state.durable, durable)
            var remaining: [Waiter] = []
            for waiter in state.waiters {
                if waiter.sequence <= state.durable { woken.append(waiter.continuation) } else { remaining.append(waiter) }
            }
            state.waiters = remaining
            if remaining.isEmpty { state.syncing = false }
            return !remaining.isEmpty
        }
        for continuation in woken { continuation.resume(returning: .durable) }
        return more
    }

    /// A sync failed: every waiter fails, and every later caller.
    func fail(_ error: StorageError) {
        let waiters = state.withLock { state in
            state.failure = state.failure ?? error
            state.syncing = false
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: .failed(error)) }
    }

    /// Writes through `durable` became durable without a sync round (a close): wakes the
    /// waiters they cover.
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
