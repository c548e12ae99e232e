import Foundation
import MultiRaftLog
import RaftStorage

/// Row 6 of `WALBenchmark engine`: `groups` groups write `perRound` entries each per round;
/// `lagging` of them never compact, the rest keep `keepRounds` rounds of entries behind a
/// snapshot (most record one and compact, every tenth installs one from its leader, dropping its
/// log). After each round one `purge(budget:)`: the disk use (the log files' sizes) against the
/// live data (the payload bytes of the entries not compacted), and the bytes the call copied
/// against the budget.
enum EnginePurgeBenchmark {
    struct Options {
        var groups = 1000
        var lagging = 10
        var rounds = 20
        var perRound = 4
        var size = 256
        var keepRounds = 4
        var fileSize: Int64 = 1 << 20
        var budget = 256 << 10
    }

    struct Round {
        var diskBytes: Int64
        var liveBytes: Int64
        var report: PurgeReport
        var seconds: Double
    }

    static func run(_ options: Options, directory: String) throws -> [Round] {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let path = base + "/engine"
        let engine = try LogEngine(directory: path, options: LogEngine.Options(fileSize: options.fileSize))
        defer { try? engine.close() }
        let payload = EngineWorkload.payload(options.size)
        let groups = 1...UInt64(options.groups)
        let laggards = Set(groups.prefix(options.lagging))
        // Every group's last index: followers that installed a snapshot go on after it.
        var last = [UInt64](repeating: 0, count: options.groups + 1)
        var rounds: [Round] = []
        for round in 1...options.rounds {
            Compare.progress("engine row 6: round \(round)/\(options.rounds)")
            var batch = WriteBatch()
            for group in groups {
                let first = last[Int(group)] + 1
                let entries = (first..<(first + UInt64(options.perRound))).map { Entry(term: 1, index: $0, data: payload) }
                last[Int(group)] += UInt64(options.perRound)
                batch.save(hardState: HardState(term: 1, vote: 1, commit: last[Int(group)]), entries: entries, for: group)
            }
            try engine.write(batch, sync: true)
            var snapshots = WriteBatch()
            for group in groups where !laggards.contains(group) {
                let keep = UInt64(options.keepRounds * options.perRound)
                if group % 10 == 0 {
                    // A follower catching up from its leader's snapshot once in a while.
                    if round % (options.keepRounds + 1) == 0 {
                        snapshots.applySnapshot(SnapshotMetadata(index: last[Int(group)], term: 1), to: group)
                    }
                } else if last[Int(group)] > keep {
                    let index = last[Int(group)] - keep
                    snapshots.recordSnapshot(SnapshotMetadata(index: index, term: 1), for: group)
                    snapshots.compact(group, through: index)
                }
            }
            if !snapshots.isEmpty { try engine.write(snapshots, sync: true) }
            let start = ContinuousClock.now
            let report = try engine.purge(budget: options.budget)
            let seconds = (ContinuousClock.now - start).seconds
            var live: Int64 = 0
            for group in groups { live += Int64(try engine.indexStatistics(for: group).entries) * Int64(options.size) }
            let disk = try EngineWorkload.fileBytes(in: path, suffix: ".rlog").bytes
            rounds.append(Round(diskBytes: disk, liveBytes: live, report: report, seconds: seconds))
        }
        return rounds
    }
}
