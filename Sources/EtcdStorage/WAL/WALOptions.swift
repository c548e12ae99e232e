public import Logging
public import Metrics
import RaftStorage
public import RaftFiles

/// How a ``WAL`` does its I/O and what it reports.
public struct WALOptions: Sendable {
    /// Where all file I/O goes; swap in a fault-injecting file system in tests.
    public var fileSystem: any FileSystem
    /// A segment is cut once it reaches this many bytes (etcd's `SegmentSizeBytes`,
    /// 64,000,000). New segments are preallocated to this size.
    public var segmentSize: Int64
    /// Skip fdatasync (etcd's `--unsafe-no-fsync`, for tests only): data still reaches the
    /// OS, directory fsyncs still happen, but nothing written is durable against power loss.
    public var unsafeNoSync: Bool
    /// An fsync slower than this logs a warning (etcd: "slow fdatasync", 1 s).
    public var slowSyncThreshold: Duration
    /// Receives warnings (slow fsync, ignored files, repairs).
    public var logger: Logger
    /// Where the metrics go; `nil` uses the process-wide `MetricsSystem` factory.
    ///
    /// Metrics: `raftstore_wal_fsync_duration_seconds` (timer),
    /// `raftstore_wal_write_bytes_total` (records and the zeros of ``zeroFillAhead``) and `raftstore_wal_segments_cut_total` (counters).
    public var metricsFactory: (any MetricsFactory)?
    /// How far ahead of the records the tail segment's preallocated blocks are overwritten
    /// with zeros, in bytes (default 1 MiB; 0 turns it off, as etcd has it). With
    /// ``unsafeNoSync`` the window does not apply: each write is padded with zeros to the next
    /// 128 KiB of the file instead (see below).
    ///
    /// Preallocated blocks are *unwritten*: an fdatasync after records land in them must also
    /// commit the file system's journal to mark them written (ext4, XFS). Over blocks written
    /// once, an fdatasync is the data and a cache flush. When fewer than half a window of
    /// written blocks is left ahead of the records, the next window is written with zeros
    /// just before an fdatasync, which then pays the journal commit for the whole window;
    /// the fdatasyncs after it do not. Measured on this project's machines: batches of 100
    /// entries of 100 B committed 1.5 to 1.6 times as fast, and of 10 entries of 4 KiB 1.3 to
    /// 1.4 times (see `Docs/Performance.md`). The cost: about as many zero bytes written as
    /// record bytes, and the fdatasync that starts a window carries that window too (one
    /// of every 80 such batches, about 1 ms more here). Zeros are what preallocated space
    /// reads as, so the files' contents are the same either way. Where an fdatasync costs
    /// nothing (tmpfs) the zeros are only extra writes: W2 measured 10-30 % slower there with
    /// them, at 9-16 M entries/s either way.
    ///
    /// Without fsync the cost that matters is the kernel's: putting records into fresh
    /// page-cache pages costs it about as much as the writer's own work, and half as much
    /// again when writes start and end off 128 KiB boundaries (each save's flush does), because
    /// it then fills the pages with small folios. So each flush goes on with zeros to the next
    /// 128 KiB boundary of the file in the same write, and the next records overwrite cached
    /// pages: 1,000-entry batches of 100 B appended 1.17 times as fast (Docs/Performance.md).
    public var zeroFillAhead: Int64

    /// Options with etcd's defaults (64,000,000-byte segments, fsync on, 1 s slow-sync warning,
    /// segments preallocated) and zeros written 1 MiB ahead of the records.
    public init(
        fileSystem: any FileSystem = PosixFileSystem(),
        segmentSize: Int64 = 64_000_000,
        unsafeNoSync: Bool = false,
        slowSyncThreshold: Duration = .seconds(1),
        logger: Logger = Logger(label: "raftstore.wal"),
        metricsFactory: (any MetricsFactory)? = nil,
        zeroFillAhead: Int64 = 1 << 20
    ) {
        self.fileSystem = fileSystem
        self.segmentSize = segmentSize
        self.unsafeNoSync = unsafeNoSync
        self.slowSyncThreshold = slowSyncThreshold
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.zeroFillAhead = zeroFillAhead
    }
}

/// The metrics one WAL reports.
struct WALInstruments: Sendable {
    let fsyncDuration: Timer
    let bytesWritten: Counter
    let segmentsCut: Counter

    init(factory: (any MetricsFactory)?) {
        if let factory {
            fsyncDuration = Timer(label: "raftstore_wal_fsync_duration_seconds", factory: factory)
            bytesWritten = Counter(label: "raftstore_wal_write_bytes_total", factory: factory)
            segmentsCut = Counter(label: "raftstore_wal_segments_cut_total", factory: factory)
        } else {
            fsyncDuration = Timer(label: "raftstore_wal_fsync_duration_seconds")
            bytesWritten = Counter(label: "raftstore_wal_write_bytes_total")
            segmentsCut = Counter(label: "raftstore_wal_segments_cut_total")
        }
    }
}
