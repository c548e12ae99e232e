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
    public func saveDurably(hardState: HardState = .empty, entries: [Entry]) async throws(StorageError) {
        let (wal, sequence) = try save(hardState: hardState, entries: entries, deferringSync: true)
        try await waitUntilDurable(sequence, wal)
    }

    /// Appends one entry right after the last, in `term`, and returns its index once it is
    /// durable; concurrent callers share fdatasyncs as ``saveDurably(hardState:entries:)``'s
    /// do, and get consecutive indexes in the order their writes reached the log.
    ///
    /// - Throws: as ``saveDurably(hardState:entries:)``.
    public func appendDurably(term: UInt64, type: EntryType = .normal, data: [UInt8]?) async throws(StorageError) -> UInt64 {
        let (wal, sequence, index) = try write { (wal) throws(StorageError) in
            let index = state.withLock { $0.index.lastIndex + 1 }
            let (wal, sequence) = try save(
                hardState: .empty, entries: [Entry(term: term, index: index, type: type, data: data)], deferringSync: true, holding: wal)
            return (wal, sequence, index)
        }
        try await waitUntilDurable(sequence, wal)
        return index
    }

    /// The index through which the entries are durable: every entry from ``firstIndex()`` to
    /// it is on disk as ``entries(in:maxBytes:)`` returns it. Entries after it, up to
    /// ``lastIndex()``, were appended (and are readable) but not yet fdatasynced.
    public func durableIndex() throws(StorageError) -> UInt64 {
        try state.withLock { (view) throws(StorageError) in
            guard !view.closed else { throw StorageError(.closed, "the log store is closed", path: directory) }
            return min(view.durability.durableIndex, view.index.lastIndex)
        }
    }

    private func waitUntilDurable(_ sequence: UInt64, _ wal: WAL<Codec>) async throws(StorageError) {
        guard sequence > 0 else { return }
        try await wal.waitUntilDurable(sequence)
        state.withLock { $0.durability.durable(through: sequence) }
    }
}

/// Which of a log's entries are on disk: writes are numbered by the WAL (``WAL/saveWithoutSync(hardState:entries:)``);
/// once write `n` is durable, so is the log as it stood after write `n`, except where later
/// writes (not yet durable) replaced entries.
struct DurabilityTracker {
    /// Every entry up to here is durable.
    private(set) var durableIndex: UInt64
    /// Writes not yet known to be durable, in order: their number, the first index they wrote
    /// and the log's last index after them.
    private var pending: [(sequence: UInt64, first: UInt64, last: UInt64)] = []
    private var pendingStart = 0

    init(durableIndex: UInt64) {
        self.durableIndex = durableIndex
    }

    /// Write `sequence` wrote entries `first...last` (replacing any from `first` on).
    mutating func wrote(_ sequence: UInt64, from first: UInt64, through last: UInt64) {
        durableIndex = min(durableIndex, first - 1)
        pending.append((sequence, first, last))
    }

    /// Every write through `sequence` is durable.
    mutating func durable(through sequence: UInt64) {
        var newest: UInt64?
        while pendingStart < pending.count && pending[pendingStart].sequence <= sequence {
            newest = pending[pendingStart].last
            pendingStart += 1
        }
        if pendingStart > 64 && pendingStart * 2 > pending.count {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
        guard var durable = newest else { return }
        // Later writes, not yet durable, may have replaced some of those entries.
        for write in pending[pendingStart...] { durable = min(durable, write.first - 1) }
        durableIndex = max(durableIndex, durable)
    }
}
