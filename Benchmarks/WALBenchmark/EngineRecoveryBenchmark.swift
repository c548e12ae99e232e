import Foundation
import MultiRaftLog
import RaftStorage

/// Row 4 of `WALBenchmark engine`: opening an engine that holds `gigabytes` of 256-byte entries
/// in 1,000 groups, in a fresh child process (`WALBenchmark engine-open`, which reports the
/// open's seconds and its own peak resident memory), against `cat` of the same files from the
/// page cache. Pairs of `cat` (the best of three) and a child alternate.
enum EngineRecoveryBenchmark {
    struct Pair {
        var open: Double
        var cat: Double
    }

    struct Result {
        var pairs: [Pair]
        var entries: Int
        var files: Int
        var fileBytes: Int64
        /// The children's peak resident memory, the largest, and their index bytes.
        var peakRSS: Int
        var indexBytes: Int
    }

    /// What the child prints, one JSON line.
    struct Report: JSONLine {
        var seconds: Double
        var peakRSS: Int
        var entries: Int
        var indexBytes: Int

        enum CodingKeys: String, CodingKey {
            case seconds, entries
            case peakRSS = "peak_rss_bytes"
            case indexBytes = "index_bytes"
        }
    }

    /// Writes about `bytes` of entry payload of `size` bytes into a new engine at `path`:
    /// batches of `perGroup` entries for each of `groups` groups (1 MB with the defaults), not
    /// synced until the end. Returns the entry count.
    static func write(path: String, bytes: Int, size: Int, groups: Int, perGroup: Int) throws -> Int {
        let engine = try LogEngine(directory: path)
        let payload = EngineWorkload.payload(size)
        let rounds = max(1, bytes / size / groups / perGroup)
        for round in 0..<rounds {
            let first = UInt64(round * perGroup + 1)
            let entries = (first..<(first + UInt64(perGroup))).map { Entry(term: 1, index: $0, data: payload) }
            var batch = WriteBatch()
            for group in 1...UInt64(groups) {
                batch.save(hardState: HardState(term: 1, vote: 1, commit: first + UInt64(perGroup) - 1), entries: entries, for: group)
            }
            try engine.write(batch, sync: false)
        }
        try engine.close()
        return rounds * perGroup * groups
    }

    /// The child: opens the engine at `path`, timed, and checks it holds `expected` entries.
    static func child(path: String, expected: Int) throws -> Report {
        let start = ContinuousClock.now
        let engine = try LogEngine(directory: path)
        let seconds = (ContinuousClock.now - start).seconds
        var entries = 0
        var indexBytes = 0
        for group in try engine.groupIDs() {
            let statistics = try engine.indexStatistics(for: group)
            entries += Int(statistics.entries)
            indexBytes += statistics.bytes
        }
        guard entries == expected else { throw BenchmarkError("the engine opened with \(entries) entries, \(expected) written") }
        // One read, so the index is known to point at the entries.
        let last = try engine.log(for: 1).lastIndex()
        guard try engine.log(for: 1).entries(in: last..<(last + 1)).first?.index == last else { throw BenchmarkError("entry \(last) unreadable") }
        try engine.close()
        return Report(seconds: seconds, peakRSS: ReplayMemory.peakResidentBytes(), entries: entries, indexBytes: indexBytes)
    }

    static func run(gigabytes: Double, size: Int, groups: Int, pairs: Int, directory: String) throws -> Result {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let path = base + "/engine"
        Compare.progress("engine row 4: writing \(String(format: "%.1f", gigabytes)) GB")
        let count = try write(path: path, bytes: Int(gigabytes * 1e9), size: size, groups: groups, perGroup: 4)
        let files = try EngineWorkload.fileBytes(in: path, suffix: ".rlog")
        // Read once so both sides find the files in the page cache.
        _ = try ReplayMemory.catSeconds(files.paths)
        var results: [Pair] = []
        var peak = 0
        var indexBytes = 0
        for pair in 1...pairs {
            Compare.progress("engine row 4: pair \(pair)/\(pairs)")
            let cat = try ReplayMemory.catSeconds(files.paths)
            let (status, output) = try runCapturingOutput(CommandLine.arguments[0], ["engine-open", "--path", path, "--expected", String(count)])
            guard status == 0, let line = output.split(separator: "\n").last, let report = Report(json: String(line)) else {
                throw BenchmarkError("engine-open failed (status \(status)): \(output)")
            }
            results.append(Pair(open: report.seconds, cat: cat))
            peak = max(peak, report.peakRSS)
            indexBytes = report.indexBytes
        }
        return Result(pairs: results, entries: count, files: files.count, fileBytes: files.bytes, peakRSS: peak, indexBytes: indexBytes)
    }
}
