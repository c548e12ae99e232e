public import RaftStorage
import RaftFiles
import Synchronization

/// What one ``LogEngine/purge(budget:)`` did.
public struct PurgeReport: Sendable, Hashable {
    /// The log files removed, oldest first.
    public var filesRemoved: [String] = []
    /// The entry bytes copied out of old files into the current one.
    public var bytesRewritten: Int = 0
    /// The groups rewritten, in order.
    public var groupsRewritten: [UInt64] = []
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
    /// groups that pin the oldest file (copying their few entries still in it, and their
    /// HardState and markers, into one record in the current file) so one slow group does not
    /// keep every file after it. A call works only on the files older than the one current
    /// when it starts.
    ///
    /// A group needs a file while its history since its last rewrite starts there, or an entry
    /// it holds is in it; compaction and ``removeGroup(_:)`` release files. Everything written
    /// is synced before a file is removed, and each removal is made durable (directory fsync)
    /// before the next, so a crash leaves the files numbered without gaps.
    ///
    /// - Parameter budget: the entry bytes one call copies at most; the first group of a call
    ///   is rewritten whatever its size, so every call makes progress.
    /// - Throws: ``RaftStorage/StorageError/Code/closed`` once the engine is closed; I/O errors;
    ///   damage found in an entry being copied (nothing damaged is copied).
    @discardableResult
    public func purge(budget: Int = 16 << 20) throws(StorageError) -> PurgeReport {
        try writer.withLock { (writer) throws(StorageError) -> PurgeReport in
            try writer.checkUsable()
            guard !isClosed else { throw Self.closedError(directory) }
            var report = PurgeReport()
            // Only files older than the one current now: rewrites fill new files, and a purge
            // chasing those would never end.
            let current = writer.fileNumber
            purging: while let oldest = writer.files.first, oldest < current {
                let holders = holders(of: oldest)
                if holders.isEmpty {
                    try remove(oldest, with: &writer, into: &report)
                    continue
                }
                for group in holders {
                    let copied = try rewrite(group, copyingThrough: oldest, with: &writer, budget: report.groupsRewritten.isEmpty ? nil : budget - report.bytesRewritten)
                    guard let copied else { break purging }
                    report.bytesRewritten += copied
                    report.groupsRewritten.append(group)
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
            state.groups.compactMap { group, value in value.oldestFileNeeded <= number ? (group, value.oldestFileNeeded) : nil }
                .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
                .map(\.0)
        }
    }

    /// Removes file `number`, which no group needs, once everything written is durable.
    private func remove(_ number: UInt64, with writer: inout EngineWriter, into report: inout PurgeReport) throws(StorageError) {
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

    /// Writes `group`'s whole state as one base record, copying the bytes of its entries in
    /// files up to `last`; returns the bytes copied, or `nil` (nothing written) when they
    /// would exceed `budget`.
    private func rewrite(_ group: UInt64, copyingThrough last: UInt64, with writer: inout EngineWriter, budget: Int?) throws(StorageError) -> Int? {
        let prepared = try state.withLock { (state) throws(StorageError) -> (GroupBase, [UInt64: [UInt8]], Int)? in
            // Holders were listed under the same writer lock: the group is there.
            guard let current = state.groups[group] else {
                throw StorageError(.invariantViolation, "group \(group) vanished during a purge", path: directory)
            }
            let base = current.base
            let moving = base.entries.enumerated().filter { $0.element.location.file <= last }
            let cost = moving.reduce(0) { $0 + Int(clamping: $1.element.location.length) }
            if let budget, cost > budget { return nil }
            var copied: [UInt64: [UInt8]] = [:]
            for (offset, entry) in moving {
                let index = base.boundaryIndex + 1 + UInt64(offset)
                let bytes = try state.bytes(at: entry.location)
                // Never copy damage into a newer file, where it would look written later.
                _ = try EntryCodec.decode(
                    bytes, group: group, index: index, expectedTerm: entry.term, path: state.path(of: entry.location.file),
                    offset: Int64(clamping: entry.location.offset))
                copied[index] = bytes
            }
            return (base, copied, cost)
        }
        guard let (base, copied, cost) = prepared else { return nil }
        let (body, spans) = BatchCodec.encode([(group, .base(base, copied: copied))])
        let (file, bodyOffset) = try writer.append(body: body)
        var moved = base
        for offset in base.entries.indices {
            guard let span = spans[0][base.boundaryIndex + 1 + UInt64(offset)] else { continue }
            moved.entries[offset].location = EntryLocation(file: file, offset: UInt64(bodyOffset) + UInt64(span.lowerBound), length: UInt64(span.count))
        }
        state.withLock { state in
            // Under the writer lock: the group is as `base` saw it.
            state.groups[group]?.apply(moved, file: file)
        }
        return cost
    }
}
