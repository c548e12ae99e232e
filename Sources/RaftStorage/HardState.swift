/// The raft state that must survive a restart: current term, vote and commit index
/// (raft's `HardState`).
///
/// Term and vote are persistent state in the raft paper (Fig. 2); commit is a hint that lets a
/// restarted node apply sooner. A change of commit alone therefore does not force a sync
/// (see ``HardState/mustSync(previous:entryCount:)``).
public struct HardState: Hashable, Sendable, CustomStringConvertible {
    /// The latest term the node has seen.
    public var term: UInt64
    /// The node voted for in that term, 0 for none.
    public var vote: UInt64
    /// The highest log index known to be committed.
    public var commit: UInt64

    /// A HardState; all zero by default.
    public init(term: UInt64 = 0, vote: UInt64 = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }

    /// The empty state (all zero), which etcd never writes to its log.
    public static let empty = HardState()

    /// Whether this is the empty state (all zero), which a log never needs to store.
    public var isEmpty: Bool { self == .empty }

    /// raft's `MustSync`: whether persisting this state together with `entryCount` new entries,
    /// after `previous` was the last state persisted, needs an fsync before it is acknowledged.
    ///
    /// True when there are entries, or when term or vote changed.
    public func mustSync(previous: HardState, entryCount: Int) -> Bool {
        entryCount != 0 || vote != previous.vote || term != previous.term
    }

    public var description: String { "HardState(term: \(term), vote: \(vote), commit: \(commit))" }
}
