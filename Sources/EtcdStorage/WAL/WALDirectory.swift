import Logging
import RaftStorage
import RaftFiles
import Synchronization

/// Listing and selecting the segments of a WAL directory (Docs/OnDiskFormat.md, Directory and segment files; Replay).
enum WALDirectory {
    /// Left by a WAL whose write or fsync failed; the next open rewrites the tail (see
    /// `WALWriter.markTailNotDurable()`). A `.tmp` name, so listings pass over it silently.
    static let tailNotDurableMarker = "tail-not-durable.tmp"

    /// How often one file that a listing passes over is reported, at most.
    ///
    /// One open lists the directory two or three times (`WALLogStore`: the marker scan, the
    /// segment selection and the writer's own; `WAL.open`: the selection and the writer's), a
    /// repair once more, a CLI check twice, and a running WAL at every purge. Each report
    /// would repeat the last, so a file is reported once, then again only after this interval:
    /// once per open, and a long-running process is still reminded.
    static let reportInterval: Duration = .seconds(600)

    /// The segments in `directory`, oldest first. Other names are passed over:
    ///
    /// - `*.tmp` silently: spare segments, the first segment of a create in progress, a copy
    ///   being written, ``tailNotDurableMarker``;
    /// - `<segment>.broken` and `<segment>.broken.<n>` with a notice saying what they are:
    ///   copies a repair kept of a segment it cut, and segments it set aside (`inspect` lists them);
    /// - anything else with a warning, as etcd does.
    ///
    /// Each such file is logged at most once per ``reportInterval``, however many listings
    /// one open makes.
    static func segments(in directory: String, fileSystem: any FileSystem, logger: Logger) throws(StorageError) -> [SegmentName] {
        var names: [SegmentName] = []
        for file in try fileSystem.contentsOfDirectory(directory) {
            if let name = SegmentName(fileName: file) {
                names.append(name)
                continue
            }
            switch PassedOver(file) {
            case .temporary:
                break
            case .repairCopy:
                let path = fileSystem.join(directory, file)
                if shouldReport(path) {
                    logger.notice(
                        "copy of a WAL segment kept by a repair; not read (remove it once it is no longer needed)",
                        metadata: ["path": "\(path)"])
                }
            case .foreign:
                let path = fileSystem.join(directory, file)
                if shouldReport(path) {
                    logger.warning("ignored file in WAL directory", metadata: ["path": "\(path)"])
                }
            }
        }
        return names.sorted()
    }

    /// What a name in a WAL directory that is not a segment is.
    private enum PassedOver {
        /// `*.tmp`: this package's files in progress.
        case temporary
        /// `<segment>.broken` or `<segment>.broken.<n>`: kept or set aside by a repair.
        case repairCopy
        /// Not this package's.
        case foreign

        init(_ file: String) {
            if file.hasSuffix(".tmp") {
                self = .temporary
                return
            }
            let segmentLength = 37  // %016x-%016x.wal
            let utf8 = file.utf8
            if utf8.count > segmentLength,
               SegmentName(fileName: String(decoding: utf8.prefix(segmentLength), as: UTF8.self)) != nil {
                let rest = String(decoding: utf8.dropFirst(segmentLength), as: UTF8.self)
                if rest == ".broken" {
                    self = .repairCopy
                    return
                }
                if rest.hasPrefix(".broken."), rest.count > 8, rest.dropFirst(8).allSatisfy({ $0.isASCII && $0.isNumber }) {
                    self = .repairCopy
                    return
                }
            }
            self = .foreign
        }
    }

    /// When each passed-over file was last reported, by path.
    private static let lastReported = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Whether the file at `path` has not been reported within ``reportInterval`` (it counts as
    /// reported now when so).
    private static func shouldReport(_ path: String) -> Bool {
        let now = ContinuousClock.now
        return lastReported.withLock { (reported) -> Bool in
            if let last = reported[path], last.duration(to: now) < reportInterval { return false }
            if reported.count >= 4096 {
                // Forget what is due again anyway, so the table stays small.
                reported = reported.filter { $0.value.duration(to: now) < reportInterval }
            }
            reported[path] = now
            return true
        }
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
