import EtcdStorage
import RaftStorage
import RaftFiles

/// The WAL half of `inspect`.
enum WALSection {
    static func read(_ directory: String, snapshots: SnapshotFileListing?, into report: inout InspectReport) {
        var section = InspectReport.Section(title: "WAL \(directory)")
        defer { report.sections.insert(section, at: 0) }
        let listing: [(name: String, size: Int64)]
        do {
            listing = try segmentFiles(directory)
        } catch {
            report.problems.append("WAL: \(error)")
            return
        }
        let total = listing.reduce(Int64(0)) { $0 + $1.size }
        if let first = listing.first, let last = listing.last {
            let range = listing.count == 1 ? first.name : "\(first.name) to \(last.name)"
            section.rows.append(("segments", "\(listing.count): \(range), \(Format.count(total, "byte"))"))
        } else {
            section.rows.append(("segments", "none"))
            report.problems.append("WAL: no segment files in \(directory)")
            return
        }

        // etcd's restart (3.4.8+): the newest valid marker that has a snapshot file, else (0, 0).
        let snapshotMarkers = Set((snapshots?.snapshots ?? []).map { MarkerKey($0.marker) })
        let collector = LogCollector()
        let check: WALCheck
        do {
            check = try WALCheck.run(directory: directory, logger: collector.logger) { markers in
                markers.last { $0.matches(.zero) || snapshotMarkers.contains(MarkerKey($0)) }
            }
        } catch {
            report.problems.append("WAL: " + WALProblem.describe(error, directory: directory))
            report.notes += notes(collector)
            return
        }
        report.notes += notes(collector)
        let replay = check.replay
        report.restartMarker = replay.start
        section.rows.append(("codec", check.codec.rawValue))
        section.rows.append(("metadata", metadataDescription(replay.metadata)))
        section.rows.append(("markers", "valid (covered by the commit): " + check.validMarkers.map(\.description).joined(separator: ", ")))
        section.rows.append(("restart", "opens at snapshot \(replay.start)"))
        if let first = replay.entries.first, let last = replay.entries.last {
            section.rows.append(("entries", "\(first.index) to \(last.index) (\(Format.count(replay.entries.count)) after the snapshot)"))
        } else {
            section.rows.append(("entries", "none after the snapshot"))
        }
        let state = replay.hardState
        let isSelf = replay.metadata.flatMap(EtcdMetadata.init).map { $0.nodeID == state.vote && state.vote != 0 } ?? false
        section.rows.append(("HardState", "term \(state.term), vote \(state.vote)\(isSelf ? " (this member)" : ""), commit \(state.commit)"))

        if let error = replay.error {
            report.problems.append("WAL: " + WALProblem.describe(error, directory: directory))
        } else if !state.isEmpty && (state.commit < replay.start.index || state.commit > replay.lastIndex) {
            report.problems.append(
                "WAL: the commit index \(state.commit) is outside the log [\(replay.start.index), \(replay.lastIndex)]; etcd would refuse to start")
        }
        let broken = ((try? Paths.fileSystem.contentsOfDirectory(directory)) ?? []).filter(isRepairCopy).sorted()
        for name in broken {
            report.notes.append("WAL: \(name) is the copy an earlier repair kept of a segment it cut (a torn tail, or damage discarded when told to)")
        }
    }

    /// What the WAL logged, as notes; its notice of a repair's copy is left out, since the
    /// note above names each copy.
    private static func notes(_ collector: LogCollector) -> [String] {
        collector.messages.filter { !$0.hasPrefix("copy of a WAL segment kept by a repair") }.map { "WAL: \($0)" }
    }

    /// `<segment>.broken` or `<segment>.broken.<n>`.
    private static func isRepairCopy(_ name: String) -> Bool {
        let segmentLength = 37  // %016x-%016x.wal
        guard name.utf8.count > segmentLength,
              SegmentName(fileName: String(decoding: name.utf8.prefix(segmentLength), as: UTF8.self)) != nil else { return false }
        let rest = String(decoding: name.utf8.dropFirst(segmentLength), as: UTF8.self)
        guard rest.hasPrefix(".broken") else { return false }
        let number = rest.dropFirst(7)
        return number.isEmpty || (number.first == "." && number.count > 1 && number.dropFirst().allSatisfy { $0.isASCII && $0.isNumber })
    }

    private static func segmentFiles(_ directory: String) throws(StorageError) -> [(name: String, size: Int64)] {
        let fileSystem = Paths.fileSystem
        var files: [(name: String, size: Int64)] = []
        for name in try fileSystem.contentsOfDirectory(directory) where SegmentName(fileName: name) != nil {
            files.append((name, try fileSystem.info(fileSystem.join(directory, name))?.size ?? 0))
        }
        return files.sorted { $0.name < $1.name }
    }

    private static func metadataDescription(_ metadata: [UInt8]?) -> String {
        guard let metadata else { return "none" }
        if let etcd = EtcdMetadata(metadata), !metadata.isEmpty { return "\(etcd.description) (\(Format.count(metadata.count, "byte")))" }
        return WALTable.metadataSummary(metadata)
    }
}

/// A marker's position, without membership, for set lookups.
struct MarkerKey: Hashable {
    var index: UInt64
    var term: UInt64

    init(_ marker: SnapshotMarker) {
        index = marker.index
        term = marker.term
    }
}
