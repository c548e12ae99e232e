import Foundation
import MultiRaftLog

/// `WALBenchmark engine` (the last part of `make bench`): the multi-group log engine's rows,
/// each with its measured values, ratio and target, PASS or FAIL. Rows with two sides run
/// them in alternating stretches and report the median of the pairs' ratios.
enum EngineBenchmark {
    struct Options {
        var directory: String
        /// Pairs of stretches for the compared rows.
        var pairs = 5
        var groups = 1000
        /// Row 4's engine size.
        var gigabytes = 1.0
        /// Row 5's entry count.
        var indexEntries = 10_000_000
        var purge = EnginePurgeBenchmark.Options()
        /// The rows to run (1-6).
        var rows: Set<Int> = Set(1...6)
    }

    static func run(_ options: Options) async throws {
        let started = Date()
        let loadBefore = Compare.loadAverage()
        var table: [EngineRow] = []
        var notes: [String] = []
        let groups = options.groups

        if options.rows.contains(1) {
            let (pairs, limit) = try EngineVersusWAL.separate(
                groups: groups, size: 100, pairs: options.pairs, engineRounds: 50, walRounds: 1, directory: options.directory)
            let (row, note) = EngineRow.throughput(
                "1: \(groups) groups x one 100 B entry + HardState per round, durable per round: engine (one batch, one sync) vs one `WALLogStore` per group (save + sync each)",
                pairs.map { ($0.engine, $0.wal) }, ratioFormat: "%.0fx", atLeast: 50, pairsLabel: "row 1 pairs (engine / separate WALs, entries/s)")
            table.append(row)
            notes.append(note
                + "; open-file limit \(limit.before) -> \(limit.after) (raised with setrlimit for \(groups) WALs)")
        }
        if options.rows.contains(2) {
            let pairs = try EngineVersusWAL.single(groups: groups, size: 100, pairs: options.pairs, rounds: 30, directory: options.directory)
            let (row, note) = EngineRow.throughput(
                "2: the same bytes: engine (\(groups) groups, one batch per round) vs one `WALLogStore` (\(groups) entries per save, save + sync)",
                pairs.map { ($0.engine, $0.wal) }, ratioFormat: "%.2fx", atLeast: 0.8, pairsLabel: "row 2 pairs (engine / one WAL, entries/s)")
            table.append(row)
            notes.append(note)
        }
        if options.rows.contains(3) {
            let pairs = try await EngineGroupCommit.run(
                writers: 16, groupsPerWriter: 64, size: 100, pairs: options.pairs, concurrentRounds: 20, serialRounds: 3, directory: options.directory)
            let (row, note) = EngineRow.throughput(
                "3: 16 writer tasks x 64 groups, `writeDurably` of one batch over its groups per round, vs 1 writer doing the same batches serially",
                pairs.map { ($0.concurrent, $0.serial) }, ratioFormat: "%.1fx", atLeast: 8, pairsLabel: "row 3 pairs (16 writers / 1 writer, entries/s)")
            table.append(row)
            notes.append(note)
        }
        if options.rows.contains(4) {
            let result = try EngineRecoveryBenchmark.run(
                gigabytes: options.gigabytes, size: 256, groups: groups, pairs: max(3, options.pairs / 2), directory: options.directory)
            let ratio = EngineWorkload.medianRatio(result.pairs.map { ($0.open, $0.cat) })
            let budget = result.entries * 16 + 64 << 20
            table.append(EngineRow(
                name: "4: open of an engine holding \(String(format: "%.1f", options.gigabytes)) GB of 256 B entries in \(groups) groups (\(result.files) files), child process, vs `cat` of the files (page cache)",
                ours: String(format: "%.3f s", Compare.median(result.pairs.map(\.open))),
                other: String(format: "cat %.3f s", Compare.median(result.pairs.map(\.cat))),
                ratio: String(format: "%.1fx cat", ratio), target: "<= 3x cat", met: ratio <= 3))
            table.append(EngineRow(
                name: "4: peak memory of that open (child's peak RSS) vs index budget (16 B x \(Compare.format(Double(result.entries))) entries + 64 MiB)",
                ours: Compare.mib(Double(result.peakRSS)), other: Compare.mib(Double(budget)),
                ratio: String(format: "%.2fx", Double(result.peakRSS) / Double(budget)), target: "<= 1x", met: result.peakRSS <= budget))
            notes.append("- row 4 pairs (open / cat, s): " + result.pairs.map { String(format: "%.3f / %.3f", $0.open, $0.cat) }.joined(separator: ", ")
                + String(format: "; %d entries, %.2f GB of files, index %.1f B/entry after the open",
                         result.entries, Double(result.fileBytes) / 1e9, Double(result.indexBytes) / Double(result.entries)))
        }
        if options.rows.contains(5) {
            let result = try EngineIndexMemory.run(entries: options.indexEntries, size: 128, groups: groups, directory: options.directory)
            let written = Double(result.writtenBytes) / Double(result.entries)
            let reopened = Double(result.reopenedBytes) / Double(result.entries)
            table.append(EngineRow(
                name: "5: index memory, \(Compare.format(Double(result.entries))) entries of 128 B in \(groups) groups (`indexStatistics` summed), written / reopened",
                ours: String(format: "%.1f / %.1f B/entry", written, reopened), other: "-",
                ratio: "-", target: "<= 16 B/entry", met: max(written, reopened) <= 16))
            notes.append(String(format: "- row 5: %d entries written in %.1f s (no sync until the end), reopened in %.2f s; index %.0f MiB written, %.0f MiB reopened",
                                result.entries, result.writeSeconds, result.reopenSeconds,
                                Double(result.writtenBytes) / 1_048_576, Double(result.reopenedBytes) / 1_048_576))
        }
        if options.rows.contains(6) {
            let purge = options.purge
            let rounds = try EnginePurgeBenchmark.run(purge, directory: options.directory)
            let worst = rounds.map { Double($0.diskBytes) / Double(max(1, $0.liveBytes)) }.max() ?? .nan
            let largest = rounds.map(\.report.bytesRewritten).max() ?? 0
            table.append(EngineRow(
                name: "6: \(purge.groups) groups, \(purge.lagging) never compacted, \(purge.rounds) rounds of purge(budget: \(purge.budget >> 10) KiB): disk use / live data, worst round",
                ours: String(format: "%.2fx", worst), other: "-", ratio: "-", target: "<= 2x", met: worst <= 2))
            table.append(EngineRow(
                name: "6: bytes one purge call copied, largest of the \(purge.rounds) calls",
                ours: String(format: "%.0f KiB", Double(largest) / 1024), other: String(format: "budget %d KiB", purge.budget >> 10),
                ratio: String(format: "%.2fx", Double(largest) / Double(purge.budget)), target: "<= 1x", met: largest <= purge.budget))
            let cut = rounds.filter(\.report.stoppedByBudget).count
            let inPart = rounds.filter { $0.report.groupRewrittenInPart != nil }.count
            notes.append("- row 6 (\(purge.perRound) x \(purge.size) B entries per group per round, \(purge.keepRounds) rounds kept behind snapshots, \(purge.fileSize >> 10) KiB files; \(cut) of \(rounds.count) calls stopped by the budget, \(inPart) of them in the middle of a group), per round disk / live MB, copied KiB, files removed: "
                + rounds.map { String(format: "%.2f/%.2f %.0f %d", Double($0.diskBytes) / 1e6, Double($0.liveBytes) / 1e6, Double($0.report.bytesRewritten) / 1024, $0.report.filesRemoved.count) }.joined(separator: ", "))
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))

        print("## The multi-group engine (`WALBenchmark engine`, \(options.pairs) pairs per compared row, median of the pairs' ratios)")
        print()
        print("| row | engine | other side | ratio | target | result |")
        print("| --- | --- | --- | --- | --- | --- |")
        for row in table { print(row.markdown) }
        print()
        for note in notes { print(note) }
        print()
        print("Machine: \(Compare.machine()); load average \(loadBefore) before, \(Compare.loadAverage()) after; \(Int(Date().timeIntervalSince(started))) s.")
    }
}
