
extension WALLogStore {
    /// How a ``WALLogStore`` opens and manages its WAL.
    public struct Options: Sendable {
        /// The WAL's I/O, segment size, sync mode, logger and metrics.
        public var wal: WALOptions
        /// Application metadata recorded when the WAL is created (etcd: node and cluster id).
        public var metadata: [UInt8]?
        /// Cut a torn write off the last segment when opening finds one (at most once per
        /// open, keeping a `.broken` copy). On by default, as etcd does. What counts as torn,
        /// and not as damage, is in Docs/Recovery.md.
        public var repairsTornTail: Bool
        /// What opening does with damage (``RecoveryMode``); refusing by default.
        public var recoveryMode: RecoveryMode
        /// After segments are released, delete the oldest ones beyond this many segment files
        /// (etcd's `--max-wals`, 5); `nil` keeps every file.
        public var retainedSegments: Int?

        /// Options with etcd's defaults (repair of torn tails on, five segments kept) and damage
        /// refused.
        public init(
            wal: WALOptions = WALOptions(), metadata: [UInt8]? = nil, repairsTornTail: Bool = true,
            recoveryMode: RecoveryMode = .refuseDamage, retainedSegments: Int? = 5
        ) {
            self.wal = wal
            self.metadata = metadata
            self.repairsTornTail = repairsTornTail
            self.recoveryMode = recoveryMode
            self.retainedSegments = retainedSegments
        }
    }

    /// What opening does when the WAL is damaged (data that was written no longer verifies),
    /// as opposed to torn (a write a crash cut short, always cut off when
    /// ``Options/repairsTornTail`` is on).
    public enum RecoveryMode: Sendable, Hashable {
        /// Refuse to open: throw the damage (``RaftStorage/StorageError/isDamage``) with its
        /// file and offset, changing nothing. Records after the damage may be acknowledged.
        case refuseDamage
        /// Cut the log at its first damaged record and open what precedes it: an operator's
        /// decision to lose what was recorded after the damage (see
        /// ``WAL/damageReport(at:codec:options:)``). The damaged segment is kept as
        /// `<segment>.broken`, later segments are renamed `<name>.broken`, and
        /// ``WALLogStore/recoveryActions`` reports it.
        case discardFromDamage
    }
}
