import Foundation

/// `make bench-versus`: this tree's build against another build of the package (a commit before
/// a change), on the same workloads as ``Compare``, alternating which goes first round by round,
/// so a change's cost is measured as the median of paired ratios in one run rather than against
/// numbers from another day.
enum Versus {
    /// The median of the paired candidate/baseline ratios every row must reach.
    static let floor = 0.95

    static func run(baseline: Binaries, candidate: Binaries, directory: String?, runs: Int) throws {
        let dirArguments = directory.map { ["--dir", $0] } ?? []
        var rows: [(name: String, baseline: [Double], candidate: [Double])] = []
        var replay: (baseline: [Double], candidate: [Double]) = ([], [])
        for workload in Compare.workloads {
            var pairs: (baseline: [Compare.Run], candidate: [Compare.Run]) = ([], [])
            for round in 1...runs {
                Compare.progress("\(workload.name) round \(round)/\(runs)")
                let arguments = ["bench", "--json"] + workload.arguments + dirArguments
                // Alternate the order so neither build always runs on a warmer page cache.
                if round % 2 == 1 {
                    pairs.baseline.append(try Compare.runJSON(baseline.raftstore, arguments))
                    pairs.candidate.append(try Compare.runJSON(candidate.raftstore, arguments))
                } else {
                    pairs.candidate.append(try Compare.runJSON(candidate.raftstore, arguments))
                    pairs.baseline.append(try Compare.runJSON(baseline.raftstore, arguments))
                }
            }
            rows.append((workload.name, pairs.baseline.map(\.writeEntriesPerSecond), pairs.candidate.map(\.writeEntriesPerSecond)))
            if workload.name == "W1" {
                replay = (pairs.baseline.map(\.readEntriesPerSecond), pairs.candidate.map(\.readEntriesPerSecond))
            }
        }
        rows.append(("R1", replay.baseline, replay.candidate))
        var group: (baseline: [Double], candidate: [Double]) = ([], [])
        for round in 1...runs {
            Compare.progress("group commit round \(round)/\(runs)")
            let order = round % 2 == 1 ? [baseline, candidate] : [candidate, baseline]
            for binaries in order {
                let value = try groupCommit(binaries.benchmark, directory: directory)
                if binaries.benchmark == baseline.benchmark { group.baseline.append(value) } else { group.candidate.append(value) }
            }
        }
        rows.append(("group commit (16 tasks)", group.baseline, group.candidate))

        print("| workload | baseline | candidate | median of paired ratios | floor | met |")
        print("| --- | --- | --- | --- | --- | --- |")
        var failed = false
        for row in rows {
            let ratio = Compare.median(zip(row.candidate, row.baseline).map { $0 / $1 })
            let met = ratio >= floor
            failed = failed || !met
            print("| \(row.name) | \(Compare.format(Compare.median(row.baseline))) | \(Compare.format(Compare.median(row.candidate))) | "
                + "\(String(format: "%.3f", ratio)) | \(floor) | \(met ? "yes" : "**no**") |")
        }
        print()
        for row in rows {
            print("- \(row.name): baseline " + Compare.list(row.baseline) + "; candidate " + Compare.list(row.candidate))
        }
        if failed { throw BenchmarkError("a workload is below \(floor) of the baseline") }
    }

    /// The `raftstore` and `WALBenchmark` executables of one build.
    struct Binaries {
        var raftstore: String
        var benchmark: String
    }

    /// Entries/s of 16 tasks in one group-commit round of `benchmark`.
    private static func groupCommit(_ benchmark: String, directory: String?) throws -> Double {
        let arguments = ["groupcommit", "--rounds", "1"] + (directory.map { ["--dir", $0] } ?? [])
        let (status, output) = try runCapturingOutput(benchmark, arguments)
        guard status == 0, let value = parseGroupCommit(output) else {
            throw BenchmarkError("\(benchmark) groupcommit failed (\(status)): \(output)")
        }
        return value
    }

    /// The `16 tasks N entries/s` figure of a `groupcommit` line.
    static func parseGroupCommit(_ output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains(" tasks ") }) else { return nil }
        let words = line.split(separator: " ")
        guard let tasks = words.firstIndex(of: "tasks"), tasks + 1 < words.count else { return nil }
        return Double(words[tasks + 1])
    }
}
