public import RaftStorage
import Synchronization

extension WALLogStore {
    /// Appends `entries` (with ``RaftStorage/LogStore/save(hardState:entries:)``'s rules) and stores
    /// `hardState` unless it is empty, and returns once they are durable.
    ///
    /// Many tasks may call it at once: each write reaches the WAL at once, so the entries are
    /// readable through ``entries(in:maxBytes:)`` and ``lastIndex()`` before they are durable,
    /// and the callers share fdatasyncs: one covers every write made since the previous one
    /// (group commit, see ``WAL/waitUntilDurable(_:)``). ``durableIndex()`` tells how far the
    /// log is on disk.
    ///
    /// ```swift
    /// try await withThrowingTaskGroup(of: Void.self) { group in
    ///     for proposal in proposals {
    ///         group.addTask { _ = try await log.appendDurably(term: 5, data: proposal) }
    ///     }
    ///     try await group.waitForAll()
    /// }
    /// ```
    ///
    /// - Throws: what ``RaftStorage/LogStore/save(hardState:entries:)`` throws; the fdatasync's error,
    ///   which fails every caller waiting for that sync and every later one, and leaves the
    ///   log refusing writes (``RaftStorage/StorageError/Code/closed``) until it is reopened.
    public nonisolated(nonsending) func saveDurably(hardState: HardState = .empty, entries: [Entry]) async throws(StorageError) {
        let sequence = try wal.withWriter { (writer) throws(StorageError) in
            try write(hardState: hardState, entries: entries, deferringSync: true, with: &writer)
        }
        try await waitUntilDurable(sequence)
    }

    /// Appends one entry right after the last, in `term`, and returns its index once it is
    /// durable; concurrent callers share fdatasyncs as ``saveDurably(hardState:entries:)``'s
    /// do, and get consecutive indexes in the order their writes reached the log.
    ///
    /// - Throws: as ``saveDurably(hardState:entries:)``.
    public nonisolated(nonsending) func appendDurably(term: UInt64, type: EntryType = .normal, data: [UInt8]?) async throws(StorageError) -> UInt64 {
        let (sequence, index) = try wal.withWriter { (writer) throws(StorageError) -> (UInt64, UInt64) in
            // Under the writer lock, so no other write takes the index in between.
            let index = try read { $0.index.lastIndex + 1 }
            let sequence = try write(
                hardState: .empty, entries: [Entry(term: term, index: index, type: type, data: data)], deferringSync: true, with: &writer)
            return (sequence, index)
        }
        try await waitUntilDurable(sequence)
        return index
    }

    /// Makes everything saved so far durable, sharing the fdatasync with concurrent
    /// ``saveDurably(hardState:entries:)``, ``appendDurably(term:type:data:)`` and
    /// ``syncDurably()`` callers (group commit); the fdatasync runs on the WAL's sync thread.
    ///
    /// - Throws: as ``saveDurably(hardState:entries:)``.
    public nonisolated(nonsending) func syncDurably() async throws(StorageError) {
        let sequence = try wal.withWriter { (writer) throws(StorageError) -> UInt64 in
            try read { _ in }
            return writer.writeSequence
        }
        try await waitUntilDurable(sequence)
    }

    /// The index through which the entries are durable: every entry from ``firstIndex()`` to
    /// it is on disk as ``entries(in:maxBytes:)`` returns it. Entries after it, up to
    /// ``lastIndex()``, were appended (and are readable) but not yet fdatasynced.
    public func durableIndex() throws(StorageError) -> UInt64 {
        try read { view in min(view.durability.durableIndex, view.index.lastIndex) }
    }

    private nonisolated(nonsending) func waitUntilDurable(_ sequence: UInt64) async throws(StorageError) {
        guard sequence > 0 else { return }
        try await wal.waitUntilDurable(sequence)
        state.withLock { $0.durability.durable(through: sequence) }
    }
}
