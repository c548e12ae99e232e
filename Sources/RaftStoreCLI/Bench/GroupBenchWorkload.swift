import EtcdStorage
import MultiRaftLog
import RaftStorage
import RaftFiles

/// `raftstore bench --groups G`: many raft groups, each persisting one entry and its HardState
/// per round, durable once per round; on the multi-group engine (every group's entry in one
/// `WriteBatch`, one `write(_:sync: true)` per round) or, with `--separate-wals`, on one
/// `WALLogStore` per group (each saving and syncing on its own). The write phase runs here; the
/// read back and the reopen run in child processes, as the single-WAL benchmark does.
struct GroupBenchWorkload {
    var groups: Int
    var entries: Int
    var size: Int
    var fsync: Bool
    var separateWALs: Bool
    /// ``WALOptions/zeroFillAhead`` of the separate WALs; `nil` keeps the default.
    var zeroFillAhead: Int64?

    /// Segments of the separate WALs: 4,000,000 bytes instead of etcd's 64,000,000, so a
    /// thousand WALs preallocate 4 GB, not 64 GB. A round writes about a hundred bytes into
    /// each, so no run of this benchmark fills one.
    static let segmentSize: Int64 = 4_000_000

    /// The `read_mode` value of the JSON line.
    var readModeName: String { separateWALs ? "separateWALs" : "engine" }

    /// Entries per durable write.
    var batch: Int { separateWALs ? 1 : min(groups, entries) }

    func run(parent: String?, showsProgress: Bool) throws(CLIError) -> BenchResult {
        if separateWALs {
            // Each WAL holds its segment and its directory open while the run goes on.
            OpenFileLimit.raise(to: groups * 2 + 256)
        }
        let base = try TemporaryDirectory.create(prefix: "raftstore-bench-", in: parent)
        defer { TemporaryDirectory.remove(base) }
        let directory = base + "/data"
        let writeSeconds = try storage { () throws(StorageError) in
            separateWALs ? try writeSeparate(to: directory, showsProgress: showsProgress) : try writeEngine(to: directory, showsProgress: showsProgress)
        }
        if showsProgress { Console.endProgress() }
        let files = try storage { () throws(StorageError) in try GroupBenchFiles.list(directory, separateWALs: separateWALs) }
        if showsProgress { Console.progress("reading \(Format.count(entries, "entry", "entries")) back in a child process...") }
        let (report, readExit) = try child(directory, mode: .openForRead)
        if showsProgress { Console.progress("timing cat and a reopen...") }
        var catSeconds = Double.infinity
        for _ in 0..<3 { catSeconds = min(catSeconds, try BenchWorkload.cat(files.paths)) }
        let (reopened, reopenExit) = try child(directory, mode: .logStoreReopen)
        if showsProgress { Console.endProgress() }
        return BenchResult(
            entries: entries, size: size, batch: batch, fsync: fsync, writeSeconds: writeSeconds,
            readSeconds: report.readSeconds, readPeakRSSBytes: readExit.peakRSSBytes, readModeName: readModeName,
            walBytes: files.bytes, segments: files.count, catSeconds: catSeconds, reopenSeconds: reopened.readSeconds,
            reopenPeakRSSBytes: reopenExit.peakRSSBytes,
            layout: separateWALs
                ? "\(Format.count(groups, "group")), one WALLogStore each (a save and a sync per group per round)"
                : "\(Format.count(groups, "group")) in one LogEngine (one batch of every group per round)")
    }

    /// Runs `raftstore bench --replay` on `directory` in `mode` (every entry read back, or the
    /// reopen until the first read).
    private func child(_ directory: String, mode: BenchReadMode) throws(CLIError) -> (BenchReplay.Report, ChildProcess.Exit) {
        var arguments = ["bench", "--replay", directory, "--entries", String(entries), "--groups", String(groups), "--read-mode", mode.rawValue]
        if separateWALs { arguments.append("--separate-wals") }
        let child = try ChildProcess(ChildProcess.currentExecutable, arguments)
        let output = child.readToEnd()
        let exit = child.wait()
        guard exit.code == 0, let report = BenchReplay.Report(json: output) else {
            throw .data("the \(mode == .openForRead ? "read" : "reopen") child failed (\(exit.code.map { "exit code \($0)" } ?? "signal \(exit.signal ?? 0)")): \(output)")
        }
        return (report, exit)
    }

    /// How many entries group `group` (1-based) holds once all are written: rounds of one
    /// entry per group, the last round only as far as the entries go.
    static func count(of group: Int, groups: Int, entries: Int) -> Int {
        entries / groups + (group <= entries % groups ? 1 : 0)
    }

    /// Runs the rounds: each `round` writes one entry at `index` with `hardState` into each of
    /// the first `count` groups.
    private func rounds(
        showsProgress: Bool, _ round: (_ count: Int, _ index: UInt64, _ hardState: HardState) throws(StorageError) -> Void
    ) throws(StorageError) {
        var progress = WriteProgress(shows: showsProgress, total: entries)
        var written = 0
        var index: UInt64 = 1
        while written < entries {
            let count = min(groups, entries - written)
            try round(count, index, HardState(term: 1, vote: 1, commit: index))
            written += count
            index += 1
            progress.update(written)
        }
    }

    /// The engine's side; returns the seconds the rounds took (and the final sync).
    private func writeEngine(to directory: String, showsProgress: Bool) throws(StorageError) -> Double {
        let engine = try LogEngine(directory: directory)
        defer { try? engine.close() }
        let payload = BenchWorkload.payload(size)
        let stopwatch = Stopwatch()
        try rounds(showsProgress: showsProgress) { (count, index, hardState) throws(StorageError) in
            var batch = WriteBatch()
            for group in 1...UInt64(count) {
                batch.save(hardState: hardState, entry: Entry(term: 1, index: index, data: payload), for: group)
            }
            try engine.write(batch, sync: fsync)
        }
        try engine.sync()
        let seconds = stopwatch.seconds
        try engine.close()
        return seconds
    }

    /// One `WALLogStore` per group; returns the seconds the rounds took (not the opening).
    private func writeSeparate(to directory: String, showsProgress: Bool) throws(StorageError) -> Double {
        var options = WALOptions(segmentSize: Self.segmentSize, unsafeNoSync: !fsync, logger: LogCollector().logger)
        if let zeroFillAhead { options.zeroFillAhead = zeroFillAhead }
        try Paths.fileSystem.createDirectory(directory, permissions: 0o700)
        var logs: [WALLogStore<ProtobufRecordCodec>] = []
        defer { for log in logs { try? log.close() } }
        for group in 1...min(groups, entries) {
            logs.append(try WALLogStore.open(at: GroupBenchFiles.walDirectory(directory, group: group), options: .init(wal: options)))
        }
        let payload = BenchWorkload.payload(size)
        let stopwatch = Stopwatch()
        try rounds(showsProgress: showsProgress) { (count, index, hardState) throws(StorageError) in
            for log in logs.prefix(count) {
                try log.save(hardState: hardState, entries: [Entry(term: 1, index: index, data: payload)])
                if fsync { try log.sync() }
            }
        }
        if !fsync { for log in logs { try log.sync() } }
        return stopwatch.seconds
    }
}
