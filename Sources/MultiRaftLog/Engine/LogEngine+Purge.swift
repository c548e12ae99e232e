public import RaftStorage
import RaftFiles
import Synchronization

/// What one ``LogEngine/purge(budget:)`` did.
public struct PurgeReport: Sendable, Hashable {
    /// The log files removed, oldest first.
    public var filesRemoved: [String] = []
    /// The entry bytes copied out of old files into the current one: never more than the
    /// call's budget.
    public var bytesRewritten: Int = 0
    /// The groups rewritten, in order (a group rewritten in part too).
    public var groupsRewritten: [UInt64] = []
    /// Whether the budget stopped the call before it dealt with every file sealed when it began
    /// (a group rewritten in part, or the next group's entries did not fit): call again to go on.
    public var stoppedByBudget = false
    /// The group whose rewrite the budget cut short: the oldest of its entries in the oldest
    /// file were copied, as many as the budget allowed, and the rest wait for the next call.
    /// `nil` when every group the call rewrote was rewritten whole.
    public var groupRewrittenInPart: UInt64?
    /// Set when the call stopped, having copied nothing, at an entry larger than the whole
    /// budget: that entry's size in bytes. No call with this budget can move it; purge with at
    /// least this budget to free the files behind it.
    public var entryLargerThanBudget: Int?
    /// The oldest log file left, unless it is the current one.
    public var oldestFile: String?
    /// The groups that still need ``oldestFile`` (their history starts there, or entries they
    /// hold are in it): the ones a later purge rewrites, and the laggards to look at when
    /// files pile up.
    public var oldestFileHolders: [UInt64] = []

    /// An empty report.
    public init() {}
}

extension LogEngine {
    /// Frees space: removes, oldest first, the log files no group needs, and rewrites the
    /// groups that pin the oldest file (copying their entries still in it, and their
    /// HardState and markers, into one record in the current file) so one slow group does not
    /// keep every file after it. A call deals only with the files sealed before it began: the
    /// files its own copies fill are left to later calls, so it never copies the same entries
    /// twice.
    ///
    /// Every entry still held in a sealed file is copied when that file's turn comes, however
    /// recently it was written: calling this after every write moves the live entries again
    /// and again. Call it when the files take more space than the groups' entries warrant.
    ///
    /// A group needs a file while its history since its last rewrite starts there, its last
    /// rewrite refers to an entry there (even one compacted since), or an entry it holds is in
    /// it; compaction and ``removeGroup(_:)`` release files. Everything written
    /// is synced before a file is removed, with a purge record naming the oldest file kept (so
    /// that opening tells a removed file from a lost one), and each removal is made durable
    /// (directory fsync) before the next, so a crash leaves the files numbered without gaps.
    ///
    /// The budget is a hard cap on the entry bytes a call copies (``PurgeReport/bytesRewritten``).
    /// A group whose entries in the oldest file exceed what is left of it is rewritten in part:
    /// its oldest entries there are copied, as many as fit, and the call stops; each later call
    /// copies the next slice, so after enough calls the group no longer pins the file
    /// (``PurgeReport/groupRewrittenInPart``). Each rewrite, whole or in part, also restates the
    /// group's other entries by reference (a few bytes each, not counted as copied). Rewriting a
    /// group that pins the file only by its history copies nothing and always happens. An
    /// entry larger than the whole budget is never copied: the call stops there and says so
    /// (``PurgeReport/entryLargerThanBudget``).
    ///
    /// - Parameter budget: the entry bytes one call copies at most; 0 removes only the files no
    ///   group's entries are in.
    /// - Throws: ``RaftStorage/StorageError/Code/invalidArgument`` for a negative budget;
    ///   ``RaftStorage/StorageError/Code/closed`` once the engine is closed; I/O errors; damage
    ///   found in an entry being copied (nothing damaged is copied).
    @discardableResult
    public func purge(budget: Int = 16 << 20) throws(StorageError) -> PurgeReport {
        guard budget >= 0 else { throw StorageError(.invalidArgument, "purge budget \(budget) is negative") }
        return try writer.withLock { (writer) throws(StorageError) -> PurgeReport in
            try writer.checkUsable()
            guard !isClosed else { throw Self.closedError(directory) }
            var report = PurgeReport()
            // Rewrites may fill the current file and start new ones; those are not this call's.
            let current = writer.fileNumber
            purging: while let oldest = writer.files.first, oldest < current {
                let holders = holders(of: oldest)
                if holders.isEmpty {
                    try remove(oldest, with: &writer, into: &report)
                    continue
                }
                for group in holders {
                    switch try rewrite(group, copyingThrough: oldest, with: &writer, budget: budget - report.bytesRewritten) {
                    case .whole(let copied):
                        report.bytesRewritten += copied
                        report.groupsRewritten.append(group)
                    case .part(let copied):
                        report.bytesRewritten += copied
                        report.groupsRewritten.append(group)
                        report.groupRewrittenInPart = group
                        report.stoppedByBudget = true
                        break purging
                    case .waiting(let nextEntry):
                        if report.bytesRewritten == 0 && nextEntry > budget { report.entryLargerThanBudget = nextEntry }
                        report.stoppedByBudget = true
                        break purging
                    }
                }
            }
            if let oldest = writer.files.first, oldest != writer.fileNumber {
                report.oldestFile = writer.path(of: oldest)
                report.oldestFileHolders = holders(of: oldest)
            }
            return report
        }
    }

    /// The groups that need file `number`, oldest need first.
    private func holders(of number: UInt64) -> [UInt64] {
        state.withLock { state in
            state.groups.all.compactMap { group, value in value.oldestFileNeeded <= number ? (group, value.oldestFileNeeded) : nil }
                .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
                .map(\.0)
        }
    }

    /// Removes file `number`, which no group needs, once everything written is durable.
    private func remove(_ number: UInt64, with writer: inout EngineWriter, into report: inout PurgeReport) throws(StorageError) {
        // Durable before the file goes: opening tells a removed file from a lost one by it.
        var record = BatchCodec.encodePurge(oldestKept: number + 1)
        _ = try writer.append(record: &record)
        try writer.sync()
        let path = writer.path(of: number)
        state.withLock { $0.dropReader(number) }
        try writer.guarded { (writer) throws(StorageError) in
            try writer.fileSystem.removeFile(path)
            try writer.fileSystem.syncDirectory(writer.directory)
        }
        writer.files.removeFirst()
        report.filesRemoved.append(path)
    }

    /// What one group's rewrite did.
    private enum Rewrite {
        /// No entry of the group is left in the files up to the one purged: `copied` bytes.
        case whole(copied: Int)
        /// The budget ran out first: `copied` bytes of its oldest entries there moved.
        case part(copied: Int)
        /// Nothing written: the next entry to copy, of this many bytes, exceeds the budget left.
        case waiting(nextEntry: Int)
    }

    /// Writes `group`'s whole state as one base record, copying the bytes of its entries in
    /// files up to `last`, oldest first, as many as `budget` allows, and referring to the rest
    /// where they are.
    private func rewrite(_ group: UInt64, copyingThrough last: UInt64, with writer: inout EngineWriter, budget: Int) throws(StorageError) -> Rewrite {
        let prepared = try state.withLock { (state) throws(StorageError) -> (GroupBase, [UInt64: [UInt8]], Rewrite) in
            // Holders were listed under the same writer lock: the group is there.
            guard let current = state.groups[group] else {
                throw StorageError(.invariantViolation, "group \(group) vanished during a purge", path: directory)
            }
            let base = current.base
            let moving = base.entries.enumerated().filter { $0.element.location.file <= last }
            // The longest run of the oldest entries that fits: a prefix, so what stays behind
            // is always the newer part, copied by the next call.
            var cost = 0
            var taken = 0
            while taken < moving.count {
                let length = Int(clamping: moving[taken].element.location.length)
                guard length <= budget - cost else { break }
                cost += length
                taken += 1
            }
            if taken == 0, let next = moving.first {
                return (base, [:], .waiting(nextEntry: Int(clamping: next.element.location.length)))
            }
            var copied: [UInt64: [UInt8]] = [:]
            for (offset, entry) in moving.prefix(taken) {
                let index = base.boundaryIndex + 1 + UInt64(offset)
                let bytes = try state.bytes(at: entry.location)
                // Never copy damage into a newer file, where it would look written later.
                _ = try EntryCodec.decode(
                    bytes, group: group, index: index, expectedTerm: entry.term, path: state.path(of: entry.location.file),
                    offset: Int64(clamping: entry.location.offset))
                copied[index] = bytes
            }
            return (base, copied, taken == moving.count ? .whole(copied: cost) : .part(copied: cost))
        }
        let (base, copied, outcome) = prepared
        if case .waiting = outcome { return outcome }
        var (record, spans) = BatchCodec.encode(base: base, group: group, copied: copied)
        let (file, bodyOffset) = try writer.append(record: &record)
        var moved = base
        for offset in base.entries.indices {
            guard let span = spans[base.boundaryIndex + 1 + UInt64(offset)] else { continue }
            moved.entries[offset].location = EntryLocation(file: file, offset: UInt64(bodyOffset) + UInt64(span.lowerBound), length: UInt64(span.count))
        }
        state.withLock { state in
            // Under the writer lock: the group is as `base` saw it.
            state.groups[group]?.apply(moved, file: file)
        }
        return outcome
    }
}
