/// The cluster membership recorded in a snapshot (raft's `ConfState`).
public struct ConfState: Hashable, Sendable {
    /// Voters of the incoming (or only) configuration.
    public var voters: [UInt64]
    /// Learners of the incoming (or only) configuration: they receive the log but do not vote.
    public var learners: [UInt64]
    /// Voters of the outgoing configuration during a joint change.
    public var votersOutgoing: [UInt64]
    /// Nodes that become learners when the joint configuration is left.
    public var learnersNext: [UInt64]
    /// Whether the joint configuration is left automatically.
    public var autoLeave: Bool

    /// A membership; every list empty by default.
    public init(
        voters: [UInt64] = [],
        learners: [UInt64] = [],
        votersOutgoing: [UInt64] = [],
        learnersNext: [UInt64] = [],
        autoLeave: Bool = false
    ) {
        self.voters = voters
        self.learners = learners
        self.votersOutgoing = votersOutgoing
        self.learnersNext = learnersNext
        self.autoLeave = autoLeave
    }
}
