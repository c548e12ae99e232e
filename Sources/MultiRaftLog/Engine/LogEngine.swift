public import RaftStorage
import RaftFiles
import Synchronization

/// A log engine for many raft groups: one directory, one append-only sequence of log files,
/// and every group's log inside it, written in batches.
///
/// ```swift
/// let engine = try LogEngine(directory: "data/raft-log")
/// let log7 = engine.log(for: 7)                 // a LogStore: Storage(log: log7, snapshots: ...)
///
/// var batch = WriteBatch()                      // or many groups' Ready at once
/// batch.save(hardState: hardState7, entries: entries7, for: 7)
/// batch.append(entries9, to: 9)
/// try await engine.writeDurably(batch)          // one record, one fdatasync, all or nothing
/// ```
///
/// Each ``WriteBatch`` is one record, checked against every group's log before anything is
/// written and recovered all or nothing. ``log(for:)`` gives a group's view, a
/// ``RaftStorage/LogStore`` whose writes are single-group batches. Concurrent
/// ``writeDurably(_:)`` callers share fdatasyncs (group commit) run on a thread of the engine's
/// own.
///
/// Memory holds where each entry is, never its data: reads go back to the files (`pread`) and
/// check each entry's checksum. Opening reads every file once and rebuilds every group; a write
/// cut short at the end of the last file is cut off and reported in ``recoveryActions``,
/// damage is refused (`Docs/OnDiskFormat.md`, "The multi-group log").
///
/// Space: compaction frees entries logically; ``purge(budget:)`` removes old files that no
/// group needs, first rewriting the few live entries of lagging groups out of the oldest file.
///
/// Thread safety: any number of tasks may call any method; writes are serialised, readers see
/// each group before or after a write.
public final class LogEngine: Sendable {
    /// The engine's directory.
    public let directory: String
    /// The options the engine was opened with.
    public let options: Options
    /// What opening changed on disk: a torn write cut off the end of the last file.
    public let recoveryActions: [RecoveryAction]

    /// The one writer; held across each write's I/O.
    let writer: Mutex<EngineWriter>
    /// What readers see; taken briefly by writers (``EngineState``).
    let state: Mutex<EngineState>
    let groupCommit = GroupCommit()
    /// Where group commit's fdatasyncs run, never on the cooperative pool.
    let syncThread = BlockingThread()
    /// Held open, and locked, while the engine is open: one writer per directory.
    private let lockFile: Mutex<(any StorageFile)?>

    /// Opens the engine in `directory`, creating the directory and the first log file when
    /// there are none (and the lock file records no file created before), and rebuilding every
    /// group from the files otherwise.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/locked`` when another engine has the directory
    ///   open; ``RaftStorage/StorageError/Code/corrupt`` or
    ///   ``RaftStorage/StorageError/Code/crcMismatch`` for damage, naming the file and offset;
    ///   ``RaftStorage/StorageError/Code/corrupt`` naming the directory when log files are
    ///   missing: older than the oldest one present with no purge record removing them, or newer
    ///   than the newest one present up to the newest the lock file records.
    public init(directory: String, options: Options = Options()) throws(StorageError) {
        guard options.fileSize >= Int64(LogFileFormat.headerSize) * 2, UInt64(options.fileSize) < EntryPositions.offsetLimit else {
            throw StorageError(.invalidArgument, "file size \(options.fileSize) is out of range")
        }
        guard options.zeroFillAhead >= 0 else {
            throw StorageError(.invalidArgument, "zero fill ahead \(options.zeroFillAhead) is negative")
        }
        let fileSystem = options.fileSystem
        self.directory = directory
        self.options = options
        try Self.createDirectories(directory, fileSystem: fileSystem)
        let lock = try Self.lock(directory, fileSystem: fileSystem)
        do {
            let files = try Self.listFiles(directory, fileSystem: fileSystem)
            let recordedNewest = try EngineRecovery.recordedNewest(in: lock)
            try EngineRecovery.checkNewest(files, recorded: recordedNewest, directory: directory)
            let recovered: RecoveredEngine
            let file: any StorageFile
            if files.isEmpty {
                file = try EngineWriter.createFile(1, previousSize: 0, fileSystem: fileSystem, directory: directory)
                recovered = RecoveredEngine(files: [1], end: Int64(LogFileFormat.headerSize))
            } else {
                recovered = try EngineRecovery.recover(directory: directory, fileSystem: fileSystem, files: files)
                file = try fileSystem.open(fileSystem.join(directory, LogFileFormat.fileName(recovered.files[recovered.files.count - 1])), .readWrite, permissions: 0)
            }
            let last = recovered.files[recovered.files.count - 1]
            // The names listed may be only in the page cache (a process killed between a new
            // file's rename and the directory's fsync): durable before the lock file records
            // the newest.
            try fileSystem.syncDirectory(directory)
            // The first file, a lock file from before the record, or a crash between a new
            // file and its record.
            if recordedNewest != last { try EngineWriter.recordNewest(last, in: lock) }
            try EngineWriter.makeTailDurableAfterFailure(file, through: recovered.end, fileSystem: fileSystem, directory: directory)
            // So may the last file's records (a process killed before its sync): durable before
            // they are reported durable or built on.
            try file.syncData()
            self.recoveryActions = recovered.actions
            self.writer = Mutex(EngineWriter(
                fileSystem: fileSystem, directory: directory, fileSize: options.fileSize, zeroWindow: options.zeroFillAhead, file: file, lockFile: lock, fileNumber: last,
                offset: recovered.end, zeroedThrough: recovered.end, files: recovered.files))
            self.state = Mutex(EngineState(fileSystem: fileSystem, directory: directory, groups: recovered.groups))
            self.lockFile = Mutex(lock)
        } catch {
            try? lock.close()
            throw error
        }
    }

    deinit {
        syncThread.stop()
    }

    /// Creates `path` and any missing parent (0700), each fsynced in its parent. Directories
    /// that exist are fsynced in their parent too: an earlier open may have created them and
    /// failed before its fsync.
    private static func createDirectories(_ path: String, fileSystem: any FileSystem) throws(StorageError) {
        let parent = fileSystem.parentDirectory(of: path)
        if parent != path && parent != "." && parent != "/" { try createDirectories(parent, fileSystem: fileSystem) }
        if try fileSystem.info(path) == nil { try fileSystem.createDirectory(path, permissions: 0o700) }
        try fileSystem.syncDirectory(parent)
    }

    /// Takes the directory's lock file, creating it durably the first time.
    private static func lock(_ directory: String, fileSystem: any FileSystem) throws(StorageError) -> any StorageFile {
        let path = fileSystem.join(directory, LogFileFormat.lockFileName)
        let existed = fileSystem.fileExists(path)
        let file = try fileSystem.open(path, [.read, .write, .create], permissions: 0o600)
        do {
            try file.lock(wait: false)
            if !existed { try fileSystem.syncDirectory(directory) }
        } catch {
            try? file.close()
            throw error
        }
        return file
    }

    /// The log files in `directory`, by number; leftovers of a file creation a crash
    /// interrupted (`.tmp`) are removed first.
    private static func listFiles(_ directory: String, fileSystem: any FileSystem) throws(StorageError) -> [UInt64] {
        var numbers: [UInt64] = []
        var removed = false
        for name in try fileSystem.contentsOfDirectory(directory) {
            if let number = LogFileFormat.fileNumber(name) {
                numbers.append(number)
            } else if name.hasSuffix(LogFileFormat.fileExtension + LogFileFormat.temporarySuffix) {
                try fileSystem.removeFile(fileSystem.join(directory, name))
                removed = true
            }
        }
        if removed { try fileSystem.syncDirectory(directory) }
        return numbers.sorted()
    }

    // MARK: - Groups

    /// The log of `group`, a ``RaftStorage/LogStore``; empty for a group never written.
    public func log(for group: UInt64) -> GroupLog {
        GroupLog(engine: self, groupID: group)
    }

    /// The groups that hold anything (entries, a HardState, a snapshot marker), in order.
    public func groupIDs() throws(StorageError) -> [UInt64] {
        try view { state in state.groups.ids.sorted() }
    }

    /// How many entries `group` holds, and the bytes its in-memory index takes for them.
    public func indexStatistics(for group: UInt64) throws(StorageError) -> (entries: UInt64, bytes: Int) {
        try view { state in
            guard let slots = state.groups[group]?.window.slots else { return (0, 0) }
            return (slots.count, slots.memoryBytes)
        }
    }

    /// Forgets `group`: its entries, HardState and markers; durable on return. Its files'
    /// space is freed by later purges.
    public func removeGroup(_ group: UInt64) throws(StorageError) {
        var batch = WriteBatch()
        batch.update(group) { $0.remove = true }
        _ = try write(.always) { _ in batch }
    }

    // MARK: - Writing

    /// When a write syncs.
    enum SyncPolicy {
        case always, never
        /// When raft's `MustSync` asks for it in any part (``GroupChange/mustSync(stored:keptEntries:)``).
        case mustSync
    }

    /// Writes `batch` as one record, checked first against every group's log with the
    /// ``RaftStorage/LogStore`` rules (an invalid part refuses the whole batch, and nothing is
    /// written); durable on return when `sync` is true.
    ///
    /// - Throws: what the ``RaftStorage/LogStore`` call of a refused part throws (with the
    ///   group named); ``RaftStorage/StorageError/Code/closed`` once the engine is closed or a
    ///   write or sync failed; I/O errors.
    public func write(_ batch: WriteBatch, sync: Bool) throws(StorageError) {
        _ = try write(sync ? .always : .never, batch: batch)
    }

    /// Writes `batch` like ``write(_:sync:)`` and returns once it is durable; concurrent callers
    /// share one fdatasync (group commit).
    ///
    /// - Throws: as ``write(_:sync:)``; a failed fdatasync fails every write waiting for it and
    ///   every later one (the engine refuses writes until opened again).
    public nonisolated(nonsending) func writeDurably(_ batch: WriteBatch) async throws(StorageError) {
        let sequence = try write(.never, batch: batch)
        try await waitUntilDurable(sequence)
    }

    /// Makes every write so far durable.
    public func sync() throws(StorageError) {
        try writer.withLock { (writer) throws(StorageError) in
            try checkOpen()
            try writer.sync()
        }
    }

    /// Makes every write so far durable, sharing the fdatasync with concurrent callers.
    public nonisolated(nonsending) func syncDurably() async throws(StorageError) {
        let sequence = try writer.withLock { (writer) throws(StorageError) in
            try checkOpen()
            try writer.checkUsable()
            return writer.writeSequence
        }
        try await waitUntilDurable(sequence)
    }

    /// The engine's write route for a batch built from the groups as they are: under the
    /// writer lock, `prepare` builds the batch, every part is admitted, the record encoded and
    /// written (and synced as `policy` says), then published to readers.
    ///
    /// - Returns: the write's sequence number; 0 when the batch changed nothing.
    func write(_ policy: SyncPolicy, _ prepare: (GroupTable) throws(StorageError) -> WriteBatch) throws(StorageError) -> UInt64 {
        try writer.withLock { (writer) throws(StorageError) -> UInt64 in
            let admission = try admitted { (groups) throws(StorageError) in try prepare(groups).contents }
            return try append(
                admission.parts, entries: admission.entries, mustSync: admission.mustSync, encoded: nil, policy: policy, with: &writer)
        }
    }

    /// The write route for a batch the caller built: it is encoded before the writer lock is
    /// taken, so concurrent writers encode side by side and hold the lock only to admit, write
    /// and publish. When admission drops anything (entries the log already holds), the kept
    /// parts are encoded again under the lock.
    func write(_ policy: SyncPolicy, batch: WriteBatch) throws(StorageError) -> UInt64 {
        let (parts, entries) = batch.contents
        guard !parts.isEmpty else { return 0 }
        // Handed on, not copied: the writer pads the record in place, and a second reference
        // would make that copy the whole record.
        var encoded = Optional(BatchCodec.encode(changes: parts, entries: entries))
        return try writer.withLock { (writer) throws(StorageError) -> UInt64 in
            let admission = try admitted { _ in (parts, entries) }
            let record = encoded.take()
            return try append(
                admission.parts, entries: entries, mustSync: admission.mustSync, encoded: admission.droppedAny ? nil : record,
                policy: policy, with: &writer)
        }
    }

    /// Under the writer lock: the parts `prepare` gives (with the entries they refer to), each
    /// admitted against its group by the ``RaftStorage/LogStore`` rules (an invalid part
    /// refuses the whole batch); entries a group already holds are dropped and parts left
    /// empty removed, the others kept in order. Whether raft's `MustSync` asks for a sync of
    /// what is kept, and whether anything was dropped.
    private func admitted(
        _ prepare: (GroupTable) throws(StorageError) -> (parts: [GroupPart], entries: [Entry])
    ) throws(StorageError) -> (parts: [GroupPart], entries: [Entry], mustSync: Bool, droppedAny: Bool) {
        try state.withLock { (state) throws(StorageError) -> (parts: [GroupPart], entries: [Entry], mustSync: Bool, droppedAny: Bool) in
            guard !state.closed else { throw Self.closedError(directory) }
            let prepared = try prepare(state.groups)
            var parts = prepared.parts
            let entries = prepared.entries
            var mustSync = false
            var droppedAny = false
            // Parts the groups keep something of move to the front, in order. The array is
            // changed only when something is dropped: it is usually the caller's, shared.
            var kept = 0
            for position in parts.indices {
                let admission = try parts.withUnsafeBufferPointer { (parts) throws(StorageError) in
                    try entries.withUnsafeBufferPointer { (entries) throws(StorageError) in
                        try Self.admit(parts, at: position, entries: entries, in: &state.groups)
                    }
                }
                if admission.dropped > 0 {
                    parts[position].change.entryRange.removeFirst(admission.dropped)
                    droppedAny = true
                }
                if admission.leavesNothing {
                    droppedAny = true
                    continue
                }
                mustSync = mustSync || admission.mustSync
                if kept != position { parts.swapAt(kept, position) }
                kept += 1
            }
            if kept < parts.count { parts.removeLast(parts.count - kept) }
            return (parts, entries, mustSync, droppedAny)
        }
    }

    /// Admits part `position` of `parts`, whose entries are in `entries`, against its group (a
    /// new one when `groups` has none): how many of its entries the group already holds,
    /// whether nothing is left to write without them, and whether raft's `MustSync` asks for a
    /// sync of the rest.
    ///
    /// A part of entries and a HardState only, what almost every part is, is read field by
    /// field: a part read whole out of the buffer is copied (through its value witnesses), as
    /// the group table's changes could reach its memory as far as the compiler can tell.
    ///
    /// The entries are read through their buffer: a slice of the array retained it (one
    /// retain and two releases for every part).
    private static func admit(
        _ parts: UnsafeBufferPointer<GroupPart>, at position: Int, entries: UnsafeBufferPointer<Entry>, in groups: inout GroupTable
    ) throws(StorageError) -> (dropped: Int, leavesNothing: Bool, mustSync: Bool) {
        let group = parts[position].group
        let batch = UnsafeBufferPointer(rebasing: entries[parts[position].change.entryRange])
        let dropped: Int
        let stored: HardState
        do throws(StorageError) {
            if !parts[position].change.remove && !parts[position].change.hasRareSteps {
                let hardState = parts[position].change.hardState
                if let admitted = try groups.withExisting(group, { (existing) throws(StorageError) in try existing.admitInPlace(batch, hardState: hardState) }) {
                    (dropped, stored) = admitted
                } else {
                    var fresh = GroupState(historyStart: 0)
                    (dropped, stored) = try fresh.admitInPlace(batch, hardState: hardState)
                }
                let kept = batch.count - dropped
                let leavesNothing = kept == 0 && hardState.isEmpty
                return (dropped, leavesNothing, !leavesNothing && GroupChange.mustSync(hardState: hardState, stored: stored, keptEntries: kept))
            }
            let change = parts[position].change
            let rare = ArraySlice(batch)
            if let admitted = try groups.withExisting(group, { (existing) throws(StorageError) in try existing.admitInPlace(change, entries: rare) }) {
                (dropped, stored) = admitted
            } else {
                (dropped, stored) = (try GroupState(historyStart: 0).admit(change, entries: rare), .empty)
            }
            // A removal or a rare step is always left to write.
            return (dropped, false, change.mustSync(stored: stored, keptEntries: batch.count - dropped))
        } catch {
            throw StorageError(error.code, "group \(group): \(error.message)", path: error.path, offset: error.offset)
        }
    }

    /// Under the writer lock: writes the admitted `parts` (with the entries they refer to) as
    /// one record (`encoded` when it was encoded before, with these very parts), syncs as
    /// `policy` says, publishes the parts to readers, and returns the write's sequence number
    /// (0 for nothing to write).
    private func append(
        _ parts: [GroupPart], entries: [Entry], mustSync: Bool, encoded: consuming (record: [UInt8], entrySpans: [Range<Int>])?,
        policy: SyncPolicy, with writer: inout EngineWriter
    ) throws(StorageError) -> UInt64 {
        try writer.checkUsable()
        guard !parts.isEmpty else { return 0 }
        var (record, spans) = encoded ?? BatchCodec.encode(changes: parts, entries: entries)
        let (file, bodyOffset) = try writer.append(record: &record)
        if policy == .always || (policy == .mustSync && mustSync) { try writer.sync() }
        let locations = spans.map { EntryLocation(file: file, offset: UInt64(bodyOffset) + UInt64($0.lowerBound), length: UInt64($0.count)) }
        state.withLock { state in
            var next = 0
            // Through the buffers: each part read where it is (not copied), each group's
            // entries and locations slices holding no reference.
            parts.withUnsafeBufferPointer { parts in
                entries.withUnsafeBufferPointer { entries in
                    locations.withUnsafeBufferPointer { locations in
                        for position in parts.indices {
                            let group = parts[position].group
                            let range = parts[position].change.entryRange
                            let placed = UnsafeBufferPointer(rebasing: locations[next..<(next + range.count)])
                            next += range.count
                            state.groups.update(group, startingIn: file) {
                                $0.apply(parts[position].change, kept: UnsafeBufferPointer(rebasing: entries[range]), locations: placed, file: file)
                            }
                            if parts[position].change.isRemovalOnly { state.groups[group] = nil }
                        }
                    }
                }
            }
        }
        return writer.writeSequence
    }

    // MARK: - Group commit

    /// Returns once write `sequence` and every one before it are durable, sharing fdatasyncs
    /// with every concurrent caller (``RaftFiles/GroupCommit``).
    nonisolated(nonsending) func waitUntilDurable(_ sequence: UInt64) async throws(StorageError) {
        guard sequence > 0 else { return }
        try await groupCommit.waitUntilDurable(sequence, on: syncThread) { self.syncRound() }
    }

    /// One group's fdatasync, outside the writer lock so writes go on meanwhile. Returns the
    /// sequence number every write through which is now durable.
    private func syncRound() -> Result<UInt64, StorageError> {
        let pending: (file: any StorageFile, sequence: UInt64, gate: SyncGate)?
        do throws(StorageError) {
            pending = try writer.withLock { (writer) throws(StorageError) -> (file: any StorageFile, sequence: UInt64, gate: SyncGate)? in
                try writer.checkUsable()
                return writer.durableSequence >= writer.writeSequence ? nil : (writer.file, writer.writeSequence, writer.syncGate)
            }
        } catch {
            return .failure(error)
        }
        if let pending {
            do throws(StorageError) {
                // Skipped when a sync under the lock (a rotation, a close) covered it meanwhile.
                try pending.gate.sync(through: pending.sequence) { () throws(StorageError) in try pending.file.syncData() }
                writer.withLock { $0.durableSequence = max($0.durableSequence, pending.sequence) }
            } catch {
                writer.withLock { $0.recordFailure(error) }
                return .failure(error)
            }
        }
        return .success(writer.withLock { $0.durableSequence })
    }

    // MARK: - Reading and closing

    /// Runs `body` on the readers' view, or throws `closed` once the engine is closed.
    func view<Result>(_ body: (inout EngineState) throws(StorageError) -> Result) throws(StorageError) -> Result {
        try state.withLock { (state) throws(StorageError) -> Result in
            guard !state.closed else { throw Self.closedError(directory) }
            return try body(&state)
        }
    }

    private func checkOpen() throws(StorageError) {
        let closed = state.withLock { $0.closed }
        if closed { throw Self.closedError(directory) }
    }

    static func closedError(_ directory: String) -> StorageError {
        StorageError(.closed, "the log engine is closed", path: directory)
    }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Syncs every write, closes the files and releases the directory's lock. Every later call,
    /// on the engine or any group's log, throws ``RaftStorage/StorageError/Code/closed``;
    /// closing again does nothing.
    public func close() throws(StorageError) {
        var failure: StorageError?
        let durable: UInt64? = writer.withLock { writer in
            let wasClosed = state.withLock { state in
                defer { state.closed = true }
                return state.closed
            }
            guard !wasClosed else { return nil }
            do throws(StorageError) {
                if writer.failure == nil {
                    try writer.sync()
                    try writer.cutZerosAhead()
                }
            } catch {
                failure = error
            }
            try? writer.file.close()
            return writer.failure == nil ? writer.durableSequence : nil
        }
        state.withLock { state in
            for number in Array(state.readers.keys) { state.dropReader(number) }
        }
        lockFile.withLock { file in
            try? file?.close()
            file = nil
        }
        if let durable { groupCommit.advance(to: durable) }
        if let failure { throw failure }
    }
}
