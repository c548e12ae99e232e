import RaftStorage

/// Why `recovered` is older than `durable`, the last HardState acknowledged as durable, or `nil`
/// when it is at least as new.
///
/// The whole HardState counts, not only term and commit: the recovered state must be in a later
/// term, or in the same term with the same vote (a vote where `durable` had none is newer: a save
/// in flight that reached the disk) and at least its commit. A vote lost (0) or changed within a
/// term is how a node votes twice in one term after a crash, which breaks raft's election safety.
func hardStateRegression(from durable: HardState, to recovered: HardState) -> String? {
    if recovered.term < durable.term {
        return "HardState went back from the acknowledged \(durable) to \(recovered): an older term"
    }
    if recovered.term == durable.term, durable.vote != 0, recovered.vote != durable.vote {
        return recovered.vote == 0
            ? "HardState lost the vote of term \(durable.term): acknowledged \(durable), recovered \(recovered)"
            : "HardState changed the vote of term \(durable.term): acknowledged \(durable), recovered \(recovered)"
    }
    if recovered.commit < durable.commit {
        return "HardState went back from the acknowledged \(durable) to \(recovered): an older commit"
    }
    return nil
}
