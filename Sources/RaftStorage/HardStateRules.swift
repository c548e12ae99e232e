// The rules a new HardState must keep against the stored one, in one place: every log store's
// save and `Storage.save` check them before writing anything, so a caller's bug is refused at
// once instead of being found by recovery (as an `invariantViolation`) after a restart.

extension HardState {
    /// Checks that this HardState may replace `stored`, the one the log holds, in a save that
    /// leaves the log's last index at `lastIndexAfterSave`.
    ///
    /// A non-empty HardState must keep three of raft's invariants:
    ///
    /// - its `commit` is at most `lastIndexAfterSave`: raft commits only entries the log holds,
    ///   and a commit past the last index makes the log refuse to open after a restart;
    /// - its `term` is not lower than `stored.term`: terms only grow;
    /// - in the same term as `stored`, its `vote` is `stored.vote` unless that is 0: a vote
    ///   cast in a term never changes within it (casting a first vote is allowed).
    ///
    /// ``HardState/empty`` means "unchanged" and always passes. A commit lower than the stored
    /// one is allowed, as in etcd's `MemoryStorage`.
    ///
    /// A ``LogStore`` calls this in ``LogStore/save(hardState:entries:)`` before it writes
    /// anything, so a refused save changes nothing:
    ///
    /// ```swift
    /// let kept = newEntries.filter { $0.index > boundary }
    /// try hardState.validate(replacing: stored, lastIndexAfterSave: kept.last?.index ?? lastIndex)
    /// ```
    ///
    /// - Parameters:
    ///   - stored: the HardState the log holds now (``HardState/empty`` for a new log).
    ///   - lastIndexAfterSave: the log's last index once the save is done: the index of the
    ///     batch's last entry when the batch has any entry above the boundary (a batch
    ///     replacing a tail may lower it), otherwise the current last index.
    /// - Throws: ``StorageError/Code/invalidArgument`` naming the rule that is broken.
    public func validate(replacing stored: HardState, lastIndexAfterSave: UInt64) throws(StorageError) {
        guard !isEmpty else { return }
        guard commit <= lastIndexAfterSave else {
            throw StorageError(
                .invalidArgument,
                "\(self) commits past the log's last index \(lastIndexAfterSave) after the save")
        }
        guard term >= stored.term else {
            throw StorageError(.invalidArgument, "\(self) has a lower term than the stored \(stored)")
        }
        guard term != stored.term || stored.vote == 0 || vote == stored.vote else {
            throw StorageError(
                .invalidArgument,
                "\(self) changes the vote \(stored.vote) already cast in term \(term) (stored \(stored))")
        }
    }
}
