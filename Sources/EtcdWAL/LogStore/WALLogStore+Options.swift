
extension WALLogStore {
    /// How a ``WALLogStore`` opens and manages its WAL.
    public struct Options: Sendable {
        /// The WAL's I/O, segment size, sync mode, logger and metrics.
        public var wal: WALOptions
        /// Application metadata recorded when the WAL is created (etcd: node and cluster id).
        public var metadata: [UInt8]?
        /// Cut a torn or truncated tail off the last segment when opening finds one (at most
        /// once per open, keeping a `.broken` copy). On by default, as etcd does.
        public var repairsTornTail: Bool
        /// After segments are released, delete the oldest ones beyond this many segment files
        /// (etcd's `--max-wals`, 5); `nil` keeps every file.
        public var retainedSegments: Int?

        /// Options with etcd's defaults: repair on, five segments kept.
        public init(wal: WALOptions = WALOptions(), metadata: [UInt8]? = nil, repairsTornTail: Bool = true, retainedSegments: Int? = 5) {
            self.wal = wal
            self.metadata = metadata
            self.repairsTornTail = repairsTornTail
            self.retainedSegments = retainedSegments
        }
    }
}
