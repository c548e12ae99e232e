#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EtcdStorage
import RaftStorage
import RaftFiles

/// One benchmark run: write phase in this process, replay in a child.
struct BenchWorkload {
    var entries: Int
    var size: Int
    var batch: Int
    var fsync: Bool
    var readMode: BenchReadMode
    /// ``WALOptions/zeroFillAhead``; `nil` keeps the default.
    var zeroFillAhead: Int64?

    func run(parent: String?, showsProgress: Bool) throws(CLIError) -> BenchResult {
        let base = try TemporaryDirectory.create(prefix: "raftstore-bench-", in: parent)
        defer { TemporaryDirectory.remove(base) }
        let walDirectory = base + "/wal"
        let writeSeconds = try write(to: walDirectory, showsProgress: showsProgress)
        let files = try storage { () throws(StorageError) in try segmentFiles(walDirectory) }

        if showsProgress { Console.progress("replaying \(Format.count(entries, "entry", "entries")) in a child process...") }
        let child = try ChildProcess(ChildProcess.currentExecutable, [
            "bench", "--replay", walDirectory, "--entries", String(entries), "--read-mode", readMode.rawValue,
        ])
        let output = child.readToEnd()
        let exit = child.wait()
        if showsProgress { Console.endProgress() }
        guard exit.code == 0, let report = BenchReplay.Report(json: output) else {
            throw .data("the replay child failed (\(exit.code.map { "exit code \($0)" } ?? "signal \(exit.signal ?? 0)")): \(output)")
        }
        // The floors a restart is measured against: `cat` reading the same files from the page
        // cache (the best of three), and a `WALLogStore` reopen until its first read returns.
        if showsProgress { Console.progress("timing cat and a log store reopen...") }
        var catSeconds = Double.infinity
        for _ in 0..<3 { catSeconds = min(catSeconds, try Self.cat(files.paths)) }
        let reopen = try ChildProcess(ChildProcess.currentExecutable, [
            "bench", "--replay", walDirectory, "--entries", String(entries), "--read-mode", BenchReadMode.logStoreReopen.rawValue,
        ])
        let reopenOutput = reopen.readToEnd()
        let reopenExit = reopen.wait()
        if showsProgress { Console.endProgress() }
        guard reopenExit.code == 0, let reopened = BenchReplay.Report(json: reopenOutput) else {
            throw .data("the reopen child failed: \(reopenOutput)")
        }
        return BenchResult(
            entries: entries, size: size, batch: batch, fsync: fsync, writeSeconds: writeSeconds,
            readSeconds: report.readSeconds, readPeakRSSBytes: exit.peakRSSBytes, readModeName: readMode.rawValue,
            walBytes: files.bytes, segments: files.count, catSeconds: catSeconds, reopenSeconds: reopened.readSeconds,
            reopenPeakRSSBytes: reopenExit.peakRSSBytes)
    }

    /// Seconds `cat` takes to read `paths` to /dev/null: the cost of reading the bytes.
    static func cat(_ paths: [String]) throws(CLIError) -> Double {
        let candidates: [String] = ["/bin/cat", "/usr/bin/cat"]
        let program = candidates.first { path in access(path, X_OK) == 0 } ?? "/bin/cat"
        let stopwatch = Stopwatch()
        let child = try ChildProcess(program, paths, discardingOutput: true)
        let exit = child.wait()
        guard exit.code == 0 else { throw .data("cat failed on the benchmark's WAL") }
        return stopwatch.seconds
    }

    /// The payload every entry carries: the Go side's bytes, `byte(i*131 + 7)`.
    static func payload(_ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
    }

    /// Appends the entries; returns the seconds the saves and the final sync took.
    private func write(to directory: String, showsProgress: Bool) throws(CLIError) -> Double {
        try storage { () throws(StorageError) in
            var options = WALOptions(unsafeNoSync: !fsync, logger: LogCollector().logger)
            if let zeroFillAhead { options.zeroFillAhead = zeroFillAhead }
            let wal = try WAL.create(at: directory, metadata: Array("raftstore-bench".utf8), codec: ProtobufRecordCodec(), options: options)
            defer { try? wal.close() }
            let payload = Self.payload(size)
            // One batch array, its entries renumbered in place for every save (as the Go side
            // refills its slice): building fresh Entry values around the shared payload would
            // retain and release it per entry, 31 ns of harness time per entry measured here.
            var batchEntries = [Entry](repeating: Entry(term: 1, index: 0, data: payload), count: min(batch, entries))
            var progress = WriteProgress(shows: showsProgress, total: entries)
            let stopwatch = Stopwatch()
            var next: UInt64 = 1
            while next <= UInt64(entries) {
                let count = Int(min(UInt64(batch), UInt64(entries) - next + 1))
                if count < batchEntries.count { batchEntries.removeLast(batchEntries.count - count) }
                for slot in 0..<count { batchEntries[slot].index = next + UInt64(slot) }
                next += UInt64(count)
                try wal.save(hardState: HardState(term: 1, vote: 1, commit: next - 1), entries: batchEntries)
                progress.update(Int(next - 1))
            }
            try wal.sync()
            let seconds = stopwatch.seconds
            try wal.close()
            return seconds
        }
    }

    private func segmentFiles(_ directory: String) throws(StorageError) -> (count: Int, bytes: Int64, paths: [String]) {
        let fileSystem = Paths.fileSystem
        var paths: [String] = []
        var bytes: Int64 = 0
        for name in try fileSystem.contentsOfDirectory(directory).sorted() where name.hasSuffix(".wal") {
            let path = fileSystem.join(directory, name)
            paths.append(path)
            bytes += try fileSystem.info(path)?.size ?? 0
        }
        return (paths.count, bytes, paths)
    }
}
