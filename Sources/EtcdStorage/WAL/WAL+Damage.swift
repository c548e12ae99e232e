import Logging
public import RaftStorage
import RaftFiles

/// Where a WAL is damaged and what cutting it there would lose: what an operator reads before
/// choosing ``WAL/repair(at:codec:options:discardingDamage:)`` with `discardingDamage`.
public struct WALDamageReport: Hashable, Sendable, CustomStringConvertible {
    /// The damage as reading met it (file and offset included).
    public var error: StorageError
    /// The segment holding the damage.
    public var path: String
    /// Where the damaged record starts: the segment would be cut here.
    public var offset: Int64
    /// Bytes of the segment from `offset` to its last non-zero byte: what the cut removes.
    public var bytesAfterDamage: Int64
    /// Segments after the damaged one, which a cut sets aside (as `<name>.broken`).
    public var laterSegments: [String]
    /// The index of the last entry read intact before the damage (0 when none).
    public var lastIntactIndex: UInt64
    /// The last HardState read intact before the damage (what the log would come back with).
    public var lastIntactHardState: HardState
    /// The snapshot markers read intact before the damage.
    public var intactMarkers: [SnapshotMarker]
    /// Whether the damage starts at the first byte of a segment after the first (after a
    /// missing segment, say): a cut then sets the whole segment aside, renamed
    /// `<segment>.broken`, instead of leaving it empty in the sequence.
    public var setsSegmentAsideWhole: Bool

    /// What is lost, in one paragraph.
    public var description: String {
        var text = "damage in \(path) at offset \(offset): \(error.message)\n"
        text += setsSegmentAsideWhole
            ? "a cut there sets that segment aside whole (\(bytesAfterDamage) bytes)"
            : "a cut there removes \(bytesAfterDamage) bytes of that segment"
        if !laterSegments.isEmpty { text += " and sets aside \(laterSegments.count) later \(laterSegments.count == 1 ? "segment" : "segments") (\(laterSegments.joined(separator: ", ")))" }
        text += ":\n  every entry after index \(lastIntactIndex), every HardState after \(lastIntactHardState), and every snapshot marker"
        text += intactMarkers.last.map { " after \($0)" } ?? ""
        text += " recorded there are lost;\n  the log would restart at HardState \(lastIntactHardState) with entries through \(lastIntactIndex)"
        return text
    }
}

extension WAL {
    /// Reads every segment from the oldest and reports the first damage, or `nil` when the WAL
    /// reads to its end (a torn tail is not damage). A gap in the segments' sequence numbers is
    /// damage too (the missing segments' records are lost), reported at the start of the segment
    /// after it, as is a segment before the gap that ends in a torn record. Changes nothing.
    public static func damageReport(at directory: String, codec: Codec, options: WALOptions = WALOptions()) throws(StorageError) -> WALDamageReport? {
        let fileSystem = options.fileSystem
        let names = try WALDirectory.segments(in: directory, fileSystem: fileSystem, logger: options.logger)
        let paths = names.map { fileSystem.join(directory, $0.fileName) }
        let gap = names.indices.dropFirst().first { names[$0].sequence != names[$0 - 1].sequence &+ 1 }
        var reader = RecordReader(codec: codec, fileSystem: fileSystem, paths: Array(paths[..<(gap ?? paths.count)]))
        reader.entryBodies = .metadata
        var lastIndex: UInt64 = 0
        var state = HardState.empty
        var markers: [SnapshotMarker] = []

        /// The report of `error` at `offset` of segment `position`.
        func report(_ error: StorageError, segment position: Int, offset: Int64) throws(StorageError) -> WALDamageReport {
            let window = try SegmentWindow(path: paths[position], fileSystem: fileSystem)
            defer { window.close() }
            let dataEnd = try window.endOfData(in: Int(offset)..<window.size)
            return WALDamageReport(
                error: error, path: paths[position], offset: offset, bytesAfterDamage: Int64(dataEnd) - offset,
                laterSegments: Array(paths[(position + 1)...]), lastIntactIndex: lastIndex, lastIntactHardState: state,
                intactMarkers: markers, setsSegmentAsideWhole: offset == 0 && position > 0)
        }

        do throws(StorageError) {
            while let read = try reader.next() {
                switch read.body {
                case .entryIndexAndTerm(let index, _): lastIndex = index
                case .entry(let entry): lastIndex = entry.index
                case .other(.hardState(let recorded)): state = recorded
                case .other(.snapshot(let marker)): markers.append(marker)
                case .other: break
                }
            }
        } catch where error.isDamage || (error.code == .unexpectedEnd && gap != nil) {
            // A torn record is damage in a segment that is not the last one.
            guard let path = error.path, error.offset != nil, let position = paths.firstIndex(of: path) else { throw error }
            // The damaged record's start (the error may point inside it): where the last good one ended.
            return try report(error, segment: position, offset: Int64(reader.offset))
        } catch where error.code == .unexpectedEnd {
            return nil
        }
        guard let gap else { return nil }
        let missing = StorageError(
            .corrupt,
            "wal: segment sequence has a gap between \(names[gap - 1]) and \(names[gap]): the records of the missing segments are lost",
            path: paths[gap], offset: 0)
        return try report(missing, segment: gap, offset: 0)
    }

    /// Cuts the WAL at `report`'s damage: the damaged segment is copied whole to
    /// `<segment>.broken` and truncated at the damaged record (or, when the damage starts at
    /// its first byte and it is not the first segment, renamed `<segment>.broken` itself),
    /// later segments are renamed `<name>.broken`, and every change is fsynced (files and
    /// directory).
    static func discard(_ report: WALDamageReport, directory: String, options: WALOptions) throws(StorageError) -> WALRepairOutcome {
        let fileSystem = options.fileSystem
        let file = try fileSystem.open(report.path, .readWrite, permissions: 0o600)
        defer { try? file.close() }
        try file.lock(wait: false)
        let backup = fileSystem.setAsidePath(for: report.path)
        // Cut to nothing, the segment would stay in the sequence (after a gap, say).
        let wholeSegment = report.setsSegmentAsideWhole
        if !wholeSegment {
            try fileSystem.writeFileAtomically(backup, try fileSystem.readFile(report.path), permissions: 0o600)
        }
        var setAside: [String] = []
        for later in report.laterSegments {
            let destination = fileSystem.setAsidePath(for: later)
            try fileSystem.rename(later, to: destination)
            setAside.append(destination)
        }
        // Durable before the cut below: a crash must not keep the cut and lose the renames,
        // which would leave later segments after a cut segment.
        if !setAside.isEmpty { try fileSystem.syncDirectory(directory) }
        if wholeSegment {
            try fileSystem.rename(report.path, to: backup)
        } else {
            try file.truncate(to: report.offset)
            try file.sync()
        }
        try fileSystem.syncDirectory(directory)
        options.logger.error("discarded a damaged WAL from the damage on, as asked", metadata: [
            "path": "\(report.path)", "offset": "\(report.offset)", "backup": "\(backup)",
            "lastIntactIndex": "\(report.lastIntactIndex)", "hardState": "\(report.lastIntactHardState)",
            "laterSegmentsSetAside": "\(setAside)", "cause": "\(report.error.message)",
        ])
        return .discardedDamage(report, backup: backup, setAside: setAside)
    }
}
