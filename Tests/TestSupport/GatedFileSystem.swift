import Foundation
import RaftFiles
import RaftStorage
public import RaftStorageTesting
import Synchronization

/// Polls `condition` until it holds (ten minutes at most: in a full parallel test run, suites
/// whose synchronous bodies run for minutes can hold every thread of the cooperative pool, and
/// this test's tasks, this poll included, wait for them).
public func waitUntil(_ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(600)
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw StorageError(.unavailable, "condition not reached in 600 s") }
        try await Task.sleep(for: .milliseconds(1))
    }
}

/// The fault-injecting file system with a gate on fdatasync: while closed, fdatasyncs block
/// (at most ten minutes, as ``waitUntil(_:)`` waits) until it opens; counts fdatasyncs and can fail the next ones.
public final class GatedFileSystem: Sendable {
    public let base = FaultInjectingFileSystem()
    private let gate = NSCondition()
    private let state = Mutex((closed: false, blocked: 0, syncs: 0, failures: 0))

    public init() {}

    /// The file system to hand to the log: `base`, with fdatasyncs that wait at the gate.
    public var fileSystem: SyncHookFileSystem {
        SyncHookFileSystem(base: base) { [self] kind, _, perform throws(StorageError) in
            if kind == .data { waitAtGate() }
            try perform()
        }
    }

    public var dataSyncs: Int { state.withLock { $0.syncs } }

    public func closeGate() { state.withLock { $0.closed = true } }

    public func openGate() {
        gate.lock()
        state.withLock { $0.closed = false }
        gate.broadcast()
        gate.unlock()
    }

    /// Makes the next `count` fdatasyncs fail with EIO (losing unsynced data, as the base does).
    public func failNextSyncs(_ count: Int) {
        state.withLock { $0.failures = count }
        base.removeFaults()
        if count > 0 { base.inject(.syncFails(times: count)) }
    }

    public func waitForBlockedSyncs(_ count: Int) async throws {
        try await waitUntil { state.withLock { $0.blocked } >= count }
    }

    private func waitAtGate() {
        state.withLock { $0.syncs += 1 }
        gate.lock()
        let deadline = Date().addingTimeInterval(600)
        state.withLock { $0.blocked += 1 }
        while state.withLock({ $0.closed }) && Date() < deadline { _ = gate.wait(until: deadline) }
        state.withLock { $0.blocked -= 1 }
        gate.unlock()
    }
}

/// Runs `body` on a thread of its own (not the cooperative pool's, which a blocking call there
/// could starve) and returns what it returned or threw.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, any Error> {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: Result { try body() }) }
    }
}
