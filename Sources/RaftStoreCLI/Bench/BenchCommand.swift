import ArgumentParser
import EtcdStorage
import RaftStorage

/// `raftstore bench [--entries N] [--size BYTES] [--batch B] [--no-fsync] [--dir DIR] [--json]`,
/// and `--groups G [--separate-wals]` for many raft groups.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Append entries through the etcd-format WAL, then replay them in a fresh process.",
        discussion: """
            The same workload and measurement as Benchmarks/etcd-go (etcd's own wal package): \
            WAL.create (not timed), N/B saves of B entries of SIZE bytes with HardState{1, 1, last}, \
            then a final sync; write_s covers the saves and the sync. The replay runs in a child \
            process (read_s covers open + ReadAll; read_peak_rss_bytes is that child's peak RSS). \
            MB/s are 10^6 bytes of entry payload per second. The WAL is written in a temporary \
            directory inside --dir and removed afterwards.

            With --groups G: G raft groups, each saving one entry and its HardState per round, \
            durable once per round, N entries in all: by default in one multi-group LogEngine \
            (one WriteBatch of every group, one synced write per round); with --separate-wals \
            in one WALLogStore per group (4,000,000-byte segments), each saving and syncing on \
            its own. --batch and --read-mode do not apply; the JSON keys are the same, batch \
            being the entries per durable write and read_mode engine or separateWALs; read_s \
            covers a child's open and read of every entry, reopen_s its open until the first read.
            """
    )

    @Option(help: "Entries to append.")
    var entries = 100_000

    @Option(help: "Payload bytes per entry.")
    var size = 100

    @Option(help: "Entries per save (each save is one fdatasync unless --no-fsync).")
    var batch = 100

    @Flag(help: "Skip fdatasync (etcd's --unsafe-no-fsync).")
    var noFsync = false

    @Option(help: "Bytes of zeros written ahead of the records before fdatasyncs; without fsync any value but 0 pads writes to 128 KiB (WALOptions.zeroFillAhead, default 1 MiB; 0: none, as etcd).")
    var zeroFillAhead: Int64?

    @Option(help: "Where to create the benchmark WAL (default: $TMPDIR or /tmp).")
    var dir: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "How the replay opens the WAL: openForRead, or open (write mode, as a restart).")
    var readMode: BenchReadMode = .openForRead

    @Option(help: "Many raft groups, one entry each per round (see above).")
    var groups: Int?

    @Flag(help: "With --groups: one WALLogStore per group instead of one LogEngine.")
    var separateWals = false

    @Option(help: .hidden)
    var replay: String?

    func validate() throws {
        guard entries > 0, batch > 0, size >= 0 else {
            throw ValidationError("--entries and --batch must be positive, --size not negative")
        }
        // Bounds that keep every allocation and product in range, far beyond useful runs.
        guard entries <= 1_000_000_000, size <= 64 << 20, batch <= 10_000_000 else {
            throw ValidationError("--entries is at most 1000000000, --size at most 67108864, --batch at most 10000000")
        }
        if let groups {
            guard groups > 0, groups <= 100_000 else { throw ValidationError("--groups must be between 1 and 100000") }
        } else if separateWals {
            throw ValidationError("--separate-wals needs --groups")
        }
    }

    func run() throws {
        if let replay {
            let report = if let groups {
                try GroupBenchReplay.run(directory: replay, groups: groups, separateWALs: separateWals, mode: readMode, expectedEntries: entries)
            } else {
                try BenchReplay.run(directory: replay, mode: readMode, expectedEntries: entries)
            }
            let out = TextSink()
            out.line(report.json)
            out.flush()
            return
        }
        if let dir { try Paths.requireDirectory(dir) }
        let result: BenchResult
        if let groups {
            let workload = GroupBenchWorkload(
                groups: groups, entries: entries, size: size, fsync: !noFsync, separateWALs: separateWals, zeroFillAhead: zeroFillAhead)
            result = try workload.run(parent: dir, showsProgress: Console.stderrIsTerminal)
        } else {
            let workload = BenchWorkload(entries: entries, size: size, batch: batch, fsync: !noFsync, readMode: readMode, zeroFillAhead: zeroFillAhead)
            result = try workload.run(parent: dir, showsProgress: Console.stderrIsTerminal)
        }
        let out = TextSink()
        if json {
            out.line(result.json)
        } else {
            result.writeText(to: out)
        }
        out.flush()
    }
}

/// How the bench replay opens the WAL.
enum BenchReadMode: String, CaseIterable, ExpressibleByArgument {
    /// `WAL.read`, etcd's `OpenForRead` + `ReadAll`.
    case openForRead
    /// `WAL.open`, etcd's `Open` + `ReadAll` in write mode (what a restart does).
    case open
    /// `WALLogStore.open` until its first `entries(in:)` returns: what a node's restart waits
    /// for before it can serve reads.
    case logStoreReopen
}
