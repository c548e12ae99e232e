import RaftFiles
import CCRC32C
import EtcdStorage
import Foundation

/// `make bench`: the write and replay workloads (Docs/Performance.md) on `raftstore bench` and on etcd 3.4's own `wal`
/// package (`Benchmarks/etcd-go`), alternating run by run, with medians and ratios; then
/// CRC32C and group commit in this process. Prints a Markdown report (for
/// `Docs/Performance.md`).
enum Compare {
    struct Workload {
        var name: String
        var arguments: [String]
        var description: String
    }

    static let workloads = [
        Workload(name: "W1", arguments: ["--entries", "1000000", "--size", "100", "--batch", "1000", "--no-fsync"],
                 description: "1,000,000 x 100 B, batches of 1,000, no fsync"),
        Workload(name: "W2", arguments: ["--entries", "100000", "--size", "100", "--batch", "100"],
                 description: "100,000 x 100 B, batches of 100, fdatasync per batch"),
        Workload(name: "W3", arguments: ["--entries", "20000", "--size", "4096", "--batch", "10"],
                 description: "20,000 x 4 KiB, batches of 10, fdatasync per batch"),
    ]

    /// One JSON line of either implementation.
    struct Run {
        var writeEntriesPerSecond: Double
        var readEntriesPerSecond: Double
        var readPeakRSS: Double
        /// This package's restart floors (`nil` from etcd's side): `cat` of the WAL's files,
        /// the replay's own seconds, and a `WALLogStore` reopen until its first read.
        var catSeconds: Double? = nil
        var readSeconds: Double? = nil
        var reopenSeconds: Double? = nil
    }

    static func run(raftstore: String, etcd: String, directory: String?, runs: Int, groupCommitRounds: Int, skipEtcd: Bool) async throws {
        let started = Date()
        let loadBefore = loadAverage()
        var lines: [String] = []
        func say(_ line: String = "") {
            print(line)
            lines.append(line)
        }
        let dirArguments = directory.map { ["--dir", $0] } ?? []

        var results: [String: (swift: [Run], etcd: [Run])] = [:]
        // Every workload once more without zeros ahead of the records (the window before
        // fdatasyncs, the 128 KiB padding without fsync), as etcd writes.
        var withoutZeros: [String: [Run]] = [:]
        for workload in workloads {
            var swiftRuns: [Run] = []
            var etcdRuns: [Run] = []
            var withoutZerosRuns: [Run] = []
            for round in 1...runs {
                progress("\(workload.name) round \(round)/\(runs)")
                if !skipEtcd { etcdRuns.append(try runJSON(etcd, ["--json"] + workload.arguments + dirArguments)) }
                swiftRuns.append(try runJSON(raftstore, ["bench", "--json"] + workload.arguments + dirArguments))
                withoutZerosRuns.append(try runJSON(raftstore, ["bench", "--json", "--zero-fill-ahead", "0"] + workload.arguments + dirArguments))
            }
            results[workload.name] = (swiftRuns, etcdRuns)
            withoutZeros[workload.name] = withoutZerosRuns
        }
        progress("W1 against its pwrite floor")
        let writeFloor = try WriteFloor.run(directory: directory ?? NSTemporaryDirectory(), rounds: max(runs, 5))
        progress("CRC32C")
        let crc = CRCBenchmark.run(recordSize: 4096, totalBytes: 256 << 20, rounds: 7)
        let crcInstructions = CRCBenchmark.run(recordSize: 4096, totalBytes: 256 << 20, rounds: 7, instructionsOnly: true)
        progress("async Storage")
        let storageGroup = try await StorageGroupCommitBenchmark.run(
            tasks: 16, entries: 8000, size: 100, directory: directory ?? NSTemporaryDirectory(), rounds: groupCommitRounds)
        progress("group commit")
        let groupDirectory = directory ?? NSTemporaryDirectory()
        let group = try await GroupCommitBenchmark.run(
            tasks: 16, singleEntries: 1000, concurrentEntries: 8000, size: 100, directory: groupDirectory, rounds: groupCommitRounds)
        let loadAfter = loadAverage()
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))

        say("## Results (`make bench`, \(runs) alternating runs per workload, medians)")
        say()
        say("Ratio: the median of each round's ratio (etcd's run and ours back to back), which the host's")
        say("speed changes between rounds move least; in brackets the ratio of the two medians.")
        say()
        say("| workload | this package | etcd 3.4 (Go) | ratio | target | met |")
        say("| --- | --- | --- | --- | --- | --- |")
        /// A table row of the medians of `swift` and `etcd` (round by round); `target` nil for
        /// rows that only inform.
        func row(_ name: String, _ description: String, _ swift: [Double], _ etcd: [Double], unit: String, target: Double?) {
            let goal = target.map { ">= \(String(format: "%.1f", $0))x" } ?? "-"
            guard !etcd.isEmpty else {
                say("| \(name): \(description) | \(format(median(swift))) \(unit) | - | - | \(goal) | - |")
                return
            }
            let ratio = median(zip(swift, etcd).map { $0 / $1 })
            let met = target.map { ratio >= $0 ? "yes" : "**no**" } ?? "-"
            say("| \(name): \(description) | \(format(median(swift))) \(unit) | \(format(median(etcd))) \(unit) | "
                + "\(String(format: "%.2f", ratio))x (\(String(format: "%.2f", median(swift) / median(etcd)))x) | \(goal) | \(met) |")
        }
        let targets = ["W1": 3.0, "W2": 1.2, "W3": 1.0]
        for workload in workloads {
            let (swiftRuns, etcdRuns) = results[workload.name]!
            row(workload.name, workload.description, swiftRuns.map(\.writeEntriesPerSecond), etcdRuns.map(\.writeEntriesPerSecond),
                unit: "entries/s", target: targets[workload.name]!)
        }
        for workload in workloads {
            guard let runs = withoutZeros[workload.name] else { continue }
            let etcdRuns = results[workload.name]!.etcd
            row(workload.name + "-0", workload.description + ", no zeros ahead (`--zero-fill-ahead 0`, as etcd writes)",
                runs.map(\.writeEntriesPerSecond), etcdRuns.map(\.writeEntriesPerSecond), unit: "entries/s", target: nil)
        }
        let (w1Swift, w1Etcd) = results["W1"]!
        row("R1", "replay of W1's WAL (open + read every entry)", w1Swift.map(\.readEntriesPerSecond),
            w1Etcd.map(\.readEntriesPerSecond), unit: "entries/s", target: 15)
        let swiftRSS = median(w1Swift.map(\.readPeakRSS))
        if !w1Etcd.isEmpty {
            let etcdRSS = median(w1Etcd.map(\.readPeakRSS))
            say("| R1 peak memory (replay child) | \(mib(swiftRSS)) | \(mib(etcdRSS)) | \(String(format: "%.2f", swiftRSS / etcdRSS))x | <= 1.0x | \(swiftRSS <= etcdRSS ? "yes" : "**no**") |")
        }
        // Restarts against the cost of reading the bytes (`cat` of the same files, page cache).
        let catW1 = w1Swift.compactMap(\.catSeconds)
        if !catW1.isEmpty {
            let replayRatio = median(zip(w1Swift.compactMap(\.readSeconds), catW1).map { $0 / $1 })
            let reopenRatio = median(zip(w1Swift.compactMap(\.reopenSeconds), catW1).map { $0 / $1 })
            say("| R1 against `cat` of the same files (floor: cat \(String(format: "%.3f", median(catW1))) s) | \(String(format: "%.3f", median(w1Swift.compactMap(\.readSeconds)))) s | - | \(String(format: "%.1f", replayRatio))x cat | <= 6x cat | \(replayRatio <= 6 ? "yes" : "**no**") |")
            say("| reopen of `WALLogStore` on W1's WAL until the first read, against `cat` | \(String(format: "%.3f", median(w1Swift.compactMap(\.reopenSeconds)))) s | - | \(String(format: "%.1f", reopenRatio))x cat | <= 3x cat | \(reopenRatio <= 3 ? "yes" : "**no**") |")
        }
        let floorRatio = median(writeFloor.map(\.ratio))
        say("| W1 write against a `pwrite` loop of the same bytes in the same pieces (floor: \(String(format: "%.3f", median(writeFloor.map(\.floorSeconds)))) s; \(writeFloor.count) alternating rounds in this process) | \(String(format: "%.3f", median(writeFloor.map(\.walSeconds)))) s | - | \(String(format: "%.0f", floorRatio * 100))% of the floor | >= 85% | \(floorRatio >= 0.85 ? "yes" : "**no**") |")
        let crcMedian = median(crc.map(\.cpu))
        // The best round too: on a shared host the same binary measured 7.6 to 15.5 GB/s in runs back to back.
        let crcPath = ccrc32c_vector_folding_available() != 0 ? "AVX-512 folds" : "CRC instructions"
        say("| CRC32C, 4 KiB records, release, \(crcPath) (per CPU second, median; best round \(String(format: "%.1f", crc.map(\.cpu).max() ?? 0)); wall clock \(String(format: "%.1f", median(crc.map(\.wall))))) | \(String(format: "%.1f", crcMedian)) GB/s | - | - | >= 10 GB/s | \(crcMedian >= 10 ? "yes" : "**no**") |")
        say("| CRC32C as above, CRC instructions only (x86-64 without AVX-512; best round \(String(format: "%.1f", crcInstructions.map(\.cpu).max() ?? 0))) | \(String(format: "%.1f", median(crcInstructions.map(\.cpu)))) GB/s | - | - | - | - |")
        let groupRatios = group.map { $0.concurrent / $0.single }
        say("| group commit: 16 tasks vs 1, single 100 B entries, durable | \(format(median(group.map(\.concurrent)))) vs \(format(median(group.map(\.single)))) entries/s | - | \(String(format: "%.1f", median(groupRatios)))x | >= 8x | \(median(groupRatios) >= 8 ? "yes" : "**no**") |")
        let storageRatios = storageGroup.map { $0.concurrent / $0.synchronous }
        say("| async `Storage`, 16 tasks, vs synchronous `Storage`, 1 task: single 100 B entries, durable | \(format(median(storageGroup.map(\.concurrent)))) vs \(format(median(storageGroup.map(\.synchronous)))) entries/s | - | \(String(format: "%.1f", median(storageRatios)))x | >= 8x | \(median(storageRatios) >= 8 ? "yes" : "**no**") |")
        say()
        say("Every run, entries/s (this package / etcd):")
        say()
        for workload in workloads {
            let (swiftRuns, etcdRuns) = results[workload.name]!
            say("- \(workload.name) write: " + list(swiftRuns.map(\.writeEntriesPerSecond)) + " / " + list(etcdRuns.map(\.writeEntriesPerSecond)))
        }
        for workload in workloads {
            guard let runs = withoutZeros[workload.name] else { continue }
            say("- \(workload.name)-0 write (no zeros ahead): " + list(runs.map(\.writeEntriesPerSecond)))
        }
        say("- R1 replay: " + list(w1Swift.map(\.readEntriesPerSecond)) + " / " + list(w1Etcd.map(\.readEntriesPerSecond)))
        say("- CRC32C GB/s per CPU second: " + crc.map { String(format: "%.1f", $0.cpu) }.joined(separator: ", ")
            + "; wall clock: " + crc.map { String(format: "%.1f", $0.wall) }.joined(separator: ", ")
            + "; CRC instructions only: " + crcInstructions.map { String(format: "%.1f", $0.cpu) }.joined(separator: ", "))
        say("- group commit (1 task / 16 tasks, fdatasyncs per entry with 16): "
            + group.map { String(format: "%.0f / %.0f (%.3f)", $0.single, $0.concurrent, $0.syncsPerEntry) }.joined(separator: ", "))
        say()
        say("Machine: \(machine()); load average \(loadBefore) before, \(loadAfter) after; \(Int(Date().timeIntervalSince(started))) s.")
    }

    static func runJSON(_ executable: String, _ arguments: [String]) throws -> Run {
        let (status, output) = try runCapturingOutput(executable, arguments)
        guard status == 0,
              let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let write = object["write_entries_per_s"] as? Double,
              let read = object["read_entries_per_s"] as? Double,
              let rss = object["read_peak_rss_bytes"] as? NSNumber
        else {
            throw BenchmarkError("\(executable) \(arguments.joined(separator: " ")) failed (status \(status))")
        }
        return Run(
            writeEntriesPerSecond: write, readEntriesPerSecond: read, readPeakRSS: rss.doubleValue,
            catSeconds: object["cat_s"] as? Double, readSeconds: object["read_s"] as? Double, reopenSeconds: object["reopen_s"] as? Double)
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func format(_ value: Double) -> String {
        value >= 1e6 ? String(format: "%.2f M", value / 1e6) : value >= 1e3 ? String(format: "%.1f k", value / 1e3) : String(format: "%.0f", value)
    }

    static func list(_ values: [Double]) -> String {
        values.isEmpty ? "-" : values.map(format).joined(separator: ", ")
    }

    static func mib(_ bytes: Double) -> String { String(format: "%.0f MiB", bytes / 1_048_576) }

    static func progress(_ text: String) {
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)...".utf8))
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) x \(cpu), \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
    }
}

/// Runs `executable` with `arguments` to its end; returns its exit status and standard output.
func runCapturingOutput(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
