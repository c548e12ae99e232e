import EtcdStorage
import Foundation
import MultiRaftLog
import RaftStorage

// What the multi-group engine's rows share: the payload, the round a group writes, the
// comparison table's rows, and the open-file limit a thousand WALs need.

/// One row of `WALBenchmark engine`'s table.
struct EngineRow {
    var name: String
    var ours: String
    var other: String
    var ratio: String
    var target: String
    /// `nil` for rows that only inform.
    var met: Bool?

    /// A row comparing two throughputs (entries/s) over alternating pairs, by the median of
    /// the pairs' ratios, met at `atLeast`; and the note listing the pairs.
    static func throughput(
        _ name: String, _ pairs: [(ours: Double, other: Double)], ratioFormat: String, atLeast target: Double, pairsLabel: String
    ) -> (row: EngineRow, note: String) {
        let ratio = EngineWorkload.medianRatio(pairs.map { ($0.ours, $0.other) })
        let row = EngineRow(
            name: name, ours: Compare.format(Compare.median(pairs.map(\.ours))) + " entries/s",
            other: Compare.format(Compare.median(pairs.map(\.other))) + " entries/s",
            ratio: String(format: ratioFormat, ratio), target: ">= " + String(format: ratioFormat, target), met: ratio >= target)
        let note = "- \(pairsLabel): " + pairs.map { "\(Compare.format($0.ours)) / \(Compare.format($0.other))" }.joined(separator: ", ")
        return (row, note)
    }

    var markdown: String {
        "| \(name) | \(ours) | \(other) | \(ratio) | \(target) | \(met.map { $0 ? "PASS" : "**FAIL**" } ?? "-") |"
    }
}

enum EngineWorkload {
    /// The benchmark payload (the same bytes `raftstore bench` and the Go side write).
    static func payload(_ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
    }

    /// Groups `first ..< first + count`, each saving its entry at `index` with a HardState
    /// committing it, in one batch: what one raft round of those groups persists.
    static func roundBatch(groups: Range<UInt64>, index: UInt64, payload: [UInt8]) -> WriteBatch {
        var batch = WriteBatch()
        batch.reserveCapacity(groups.count)
        let hardState = HardState(term: 1, vote: 1, commit: index)
        for group in groups {
            batch.save(hardState: hardState, entry: Entry(term: 1, index: index, data: payload), for: group)
        }
        return batch
    }

    /// Sum of the sizes of the regular files directly in `directory` whose names end in `suffix`.
    static func fileBytes(in directory: String, suffix: String) throws -> (count: Int, bytes: Int64, paths: [String]) {
        var count = 0
        var bytes: Int64 = 0
        var paths: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where name.hasSuffix(suffix) {
            let path = directory + "/" + name
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            bytes += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            count += 1
            paths.append(path)
        }
        return (count, bytes, paths)
    }

    /// The median of each pair's ratio.
    static func medianRatio(_ pairs: [(Double, Double)]) -> Double {
        Compare.median(pairs.map { $0.0 / $0.1 })
    }
}

/// The open-file limit. A thousand `WALLogStore`s hold a segment file and a directory each, and
/// lock files while opening: more than the 1,024 soft limit many systems start with.
enum FileLimit {
    /// Raises the soft limit on open files to `wanted`, or to the hard limit when that is lower;
    /// returns the soft limit before and after.
    static func raise(to wanted: Int) -> (before: Int, after: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (-1, -1) }
        let before = Int(clamping: limit.rlim_cur)
        guard limit.rlim_cur < rlim_t(wanted) else { return (before, before) }
        limit.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
        _ = setrlimit(resource, &limit)
        _ = getrlimit(resource, &limit)
        return (before, Int(clamping: limit.rlim_cur))
    }

    #if os(Linux)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
