import Logging
import RaftStorage
import RaftFiles

/// Listing and selecting the segments of a WAL directory (Docs/OnDiskFormat.md, Directory and segment files; Replay).
enum WALDirectory {
    /// Left by a WAL whose write or fsync failed; the next open rewrites the tail (see
    /// `WALWriter.markTailNotDurable()`). A `.tmp` name, so listings pass over it silently.
    static let tailNotDurableMarker = "tail-not-durable.tmp"

    /// The segments in `directory`, oldest first. Other names are ignored: `*.tmp` (spare
    /// segments) and `*.wal.broken` (copies a repair kept, reported by `inspect`) silently,
    /// anything else with a warning (etcd does the same).
    static func segments(in directory: String, fileSystem: any FileSystem, logger: Logger) throws(StorageError) -> [SegmentName] {
        var names: [SegmentName] = []
        for file in try fileSystem.contentsOfDirectory(directory) {
            if let name = SegmentName(fileName: file) {
                names.append(name)
            } else if !file.hasSuffix(".tmp") && !file.hasSuffix(".wal.broken") {
                logger.warning("ignored file in WAL directory", metadata: ["path": "\(fileSystem.join(directory, file))"])
            }
        }
        return names.sorted()
    }

    /// Whether `directory` holds a WAL (at least one segment).
    static func exists(_ directory: String, fileSystem: any FileSystem) -> Bool {
        guard let files = try? fileSystem.contentsOfDirectory(directory) else { return false }
        return files.contains { SegmentName(fileName: $0) != nil }
    }

    /// The segments to read when starting at `snapshotIndex`: the newest one whose name index
    /// is at or below it (it can hold the snapshot record) and every later one, which must
    /// continue the sequence without gaps.
    ///
    /// - Throws: ``RaftStorage/StorageError/Code/notFound`` when no segment exists, none can hold the
    ///   snapshot, or the sequence has a gap.
    static func select(_ names: [SegmentName], snapshotIndex: UInt64, directory: String) throws(StorageError) -> ArraySlice<SegmentName> {
        guard !names.isEmpty else { throw StorageError(.notFound, "wal: file not found (no segments)", path: directory) }
        guard let start = names.lastIndex(where: { $0.index <= snapshotIndex }) else {
            throw StorageError(.notFound, "wal: file not found (no segment can hold snapshot index \(snapshotIndex); oldest is \(names[0]))", path: directory)
        }
        let selected = names[start...]
        try checkSequence(selected, directory: directory)
        return selected
    }

    /// Every sequence number must be the previous one plus one. Stricter than etcd, which
    /// skips the check after sequence 0.
    static func checkSequence(_ names: ArraySlice<SegmentName>, directory: String) throws(StorageError) {
        for (previous, next) in zip(names, names.dropFirst()) where next.sequence != previous.sequence &+ 1 {
            throw StorageError(.notFound, "wal: file not found: segment sequence has a gap between \(previous) and \(next)", path: directory)
        }
    }
}
