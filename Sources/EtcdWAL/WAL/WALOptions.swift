public import Logging
public import Metrics
public import RaftStorage

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
    /// `raftstore_wal_write_bytes_total` and `raftstore_wal_segments_cut_total` (counters).
    public var metricsFactory: (any MetricsFactory)?
    /// Write zeros over every new segment (and fdatasync them) instead of only preallocating
    /// it; off by default, as etcd.
    ///
    /// Preallocated blocks are *unwritten*: the first fdatasync after records land in them
    /// also commits the file system's journal to mark them written (ext4, XFS). Over blocks
    /// written once, an fdatasync is the data and a cache flush: measured on this project's
    /// machines, 100 B-entry batches of 100 committed twice as fast (see
    /// `Docs/Performance.md`). The cost: every segment is written twice, the first segment
    /// when the WAL is created (64 MB before ``WAL/create(at:metadata:codec:options:)``
    /// returns) and each later one in the background, on a thread of its own, while the
    /// previous one fills (a cut waits for it if it is not done). On a disk whose bandwidth
    /// is the limit, or rationed (cloud volumes with burst credits), that can cost more than
    /// it saves. The files' contents are the same either way.
    public var zeroFillsSegments: Bool

    /// Options with etcd's defaults (64,000,000-byte segments, fsync on, 1 s slow-sync warning,
    /// segments preallocated, not zero-filled).
    public init(
        fileSystem: any FileSystem = PosixFileSystem(),
        segmentSize: Int64 = 64_000_000,
        unsafeNoSync: Bool = false,
        slowSyncThreshold: Duration = .seconds(1),
        logger: Logger = Logger(label: "raftstore.wal"),
        metricsFactory: (any MetricsFactory)? = nil,
        zeroFillsSegments: Bool = false
    ) {
        self.fileSystem = fileSystem
        self.segmentSize = segmentSize
        self.unsafeNoSync = unsafeNoSync
        self.slowSyncThreshold = slowSyncThreshold
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.zeroFillsSegments = zeroFillsSegments
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
