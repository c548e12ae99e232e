import EtcdStorage
import Foundation
import RaftStorage

/// Peak memory of replaying a large WAL, each way in a fresh child process
/// (`WALBenchmark replay-child`), whose own `ru_maxrss` is its peak resident set.
enum ReplayMemory {
    /// How a child reads the WAL.
    enum Mode: String, CaseIterable {
        /// `WAL.replay`, batches handed out and dropped.
        case stream
        /// `WALLogStore.open`: sealed segments located, the tail held; then one read of the
        /// first and last entries.
        case logstore
        /// `WAL.read`, every entry in memory (etcd's ReadAll).
        case read
    }

    struct Report: JSONLine, CustomStringConvertible {
        var mode: String
        var entries: Int
        var seconds: Double
        var peakRSS: Int

        enum CodingKeys: String, CodingKey {
            case mode, entries, seconds
            case peakRSS = "peak_rss_bytes"
        }

        var description: String {
            String(format: "%@: %d entries in %.2f s (%.2f M entries/s), peak RSS %.0f MiB",
                   mode, entries, seconds, Double(entries) / seconds / 1e6, Double(peakRSS) / 1_048_576)
        }
    }

    /// Writes about `bytes` of entries of `size` bytes into a new WAL at `path` (no fsync).
    static func write(path: String, bytes: Int, size: Int) throws -> Int {
        let wal = try WAL.create(at: path, metadata: nil, codec: ProtobufRecordCodec(), options: WALOptions(unsafeNoSync: true))
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let count = bytes / (size + 24)
        var batch = [Entry](repeating: Entry(term: 1, index: 0, data: payload), count: 1000)
        var next: UInt64 = 1
        while next <= UInt64(count) {
            let taken = Int(min(UInt64(batch.count), UInt64(count) - next + 1))
            if taken < batch.count { batch.removeLast(batch.count - taken) }
            for slot in 0..<taken { batch[slot].index = next + UInt64(slot) }
            next += UInt64(taken)
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: next - 1), entries: batch)
        }
        try wal.close()
        return count
    }

    /// The child: replays `path` in `mode` and prints a report line.
    static func child(path: String, mode: Mode, expected: Int) throws -> Report {
        let start = ContinuousClock.now
        var entries = 0
        switch mode {
        case .stream:
            var last: UInt64 = 0
            let summary = try WAL.replay(at: path, from: .zero, codec: ProtobufRecordCodec()) { batch in
                if let first = batch.entries.first?.index, first <= last { entries -= Int(last - first + 1) }
                entries += batch.entries.count
                last = batch.entries.last?.index ?? last
            }
            if let error = summary.error { throw error }
        case .logstore:
            let log = try WALLogStore.open(at: path, options: .init(retainedSegments: nil))
            let first = try log.firstIndex(), lastIndex = try log.lastIndex()
            entries = Int(lastIndex - first + 1)
            // Entries come back from their segments, the first and the last.
            _ = try log.entries(in: first..<(first + 10))
            _ = try log.entries(in: (lastIndex - 9)..<(lastIndex + 1))
            try log.close()
        case .read:
            let replay = try WAL.read(at: path, from: .zero, codec: ProtobufRecordCodec())
            if let error = replay.error { throw error }
            entries = replay.entries.count
        }
        let seconds = (ContinuousClock.now - start).seconds
        guard entries == expected else { throw BenchmarkError("\(mode): replayed \(entries) entries, wrote \(expected)") }
        return Report(mode: mode.rawValue, entries: entries, seconds: seconds, peakRSS: peakResidentBytes())
    }

    /// This process's peak resident set. On Linux `VmHWM` of /proc/self/status: `ru_maxrss`
    /// would start at the parent's peak, which exec carries over when the child was spawned
    /// sharing the parent's memory (posix_spawn's vfork), as Foundation's Process does.
    static func peakResidentBytes() -> Int {
        #if os(Linux)
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") {
            return kilobytes * 1024
        }
        #endif
        var usage = rusage()
        getrusage(0, &usage)  // RUSAGE_SELF
        #if os(Linux)
        return Int(usage.ru_maxrss) * 1024
        #else
        return Int(usage.ru_maxrss)
        #endif
    }

    /// The floor a replay is measured against: the best of three runs of `cat` reading `paths`
    /// (from the page cache, as the replays do) to /dev/null.
    static func catSeconds(_ paths: [String]) throws -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let cat = Process()
            cat.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/bin/cat") ? "/bin/cat" : "/usr/bin/cat")
            cat.arguments = paths
            cat.standardOutput = FileHandle.nullDevice
            let start = ContinuousClock.now
            try cat.run()
            cat.waitUntilExit()
            guard cat.terminationStatus == 0 else { throw BenchmarkError("cat failed on the benchmark's WAL") }
            best = min(best, (ContinuousClock.now - start).seconds)
        }
        return best
    }

    /// Runs `executable replay-child` for `mode` and returns its report.
    static func runChild(_ executable: String, path: String, mode: Mode, expected: Int) throws -> Report {
        let (status, output) = try runCapturingOutput(
            executable, ["replay-child", "--path", path, "--mode", mode.rawValue, "--expected", String(expected)])
        guard status == 0,
              let line = output.split(separator: "\n").last,
              let report = Report(json: String(line)) else {
            throw BenchmarkError("replay-child \(mode) failed (status \(status))")
        }
        return report
    }

    /// `make bench`: a WAL of `gigabytes`, replayed streaming and by the log store (and, with
    /// `includingRead`, all in memory as etcd does). Throws when a bounded replay peaks at
    /// 256 MiB or more, so the bound the docs state fails the run when it breaks.
    static func run(gigabytes: Double, size: Int, directory: String, includingRead: Bool) throws {
        let base = try Scratch.directory(in: directory)
        defer { Scratch.remove(base) }
        let path = base + "/wal"
        FileHandle.standardError.write(Data("writing a \(gigabytes) GB WAL...\n".utf8))
        let count = try write(path: path, bytes: Int(gigabytes * 1e9), size: size)
        let files = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".wal") }
        print("## Bounded-memory replay: \(String(format: "%.1f", gigabytes)) GB WAL, \(count) entries of \(size) B, \(files.count) segments")
        print()
        let executable = CommandLine.arguments[0]
        let floor = try catSeconds(files.map { path + "/" + $0 })
        var over: [String] = []
        for mode in Mode.allCases where mode != .read || includingRead {
            let report = try runChild(executable, path: path, mode: mode, expected: count)
            let bounded = mode == .read || report.peakRSS < 256 << 20
            if !bounded { over.append("\(mode)") }
            print("- \(report)\(mode == .read ? "" : bounded ? " (under 256 MiB)" : " (**over 256 MiB**)")")
            if mode == .logstore {
                let ratio = report.seconds / floor
                let met = ratio <= 3 && report.peakRSS < 64 << 20
                print(String(format: "- WALLogStore reopen against `cat` of the same files (floor: cat %.3f s): %.1fx cat, peak %.0f MiB; target <= 3x cat and under 64 MiB: %@",
                             floor, ratio, Double(report.peakRSS) / 1_048_576, met ? "met" : "**not met**"))
            }
        }
        guard over.isEmpty else { throw BenchmarkError("bounded replay over 256 MiB: \(over.joined(separator: ", "))") }
    }
}
