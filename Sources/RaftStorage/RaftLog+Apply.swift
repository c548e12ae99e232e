/// Handing committed entries to the application and taking its reports (raft's `applying` and
/// `applied` with the `maxApplyingEntsSize` budget).
///
/// ``RaftLog/entriesToApply(allowUnstable:)`` reads the committed entries after
/// ``RaftLog/applying``; ``RaftLog/markApplying(through:bytes:allowUnstable:)`` records that they
/// were handed out, so the next read starts after them; ``RaftLog/applied(to:bytes:)`` records
/// that the application applied them. ``RaftLog/beginApplying(allowUnstable:)`` reads and marks
/// in one call. A caller that only reads and reports applied (never marking) gets the
/// committed entries after ``RaftLog/applied`` each time.
///
/// `allowUnstable`: with synchronous storage writes committed entries may be applied before
/// they are acknowledged as persisted locally (`true`, the default, raft's behaviour without
/// `AsyncStorageWrites`); with asynchronous writes pass `false`, so only entries before
/// ``Unstable/offset`` are handed out.
///
/// After a snapshot from the leader is acknowledged and applied, report
/// `applied(to: snapshot.metadata.index)`; no entries are handed out while a snapshot is
/// pending (``RaftLog/hasPendingSnapshot``).
extension RaftLog {
    /// The highest index that may be handed out to apply: ``committed``, and with
    /// `allowUnstable` false no more than the last entry acknowledged as persisted.
    public func maxAppliableIndex(allowUnstable: Bool = true) -> UInt64 {
        guard !allowUnstable else { return committed }
        return min(committed, unstable.offset > 0 ? unstable.offset - 1 : 0)
    }

    /// Whether there are committed entries to hand out to apply (raft's
    /// `hasNextCommittedEnts`): none while paused (``isApplyingPaused``) or while a snapshot
    /// is pending. Reads no storage.
    public func hasEntriesToApply(allowUnstable: Bool = true) -> Bool {
        guard !isApplyingPaused, unstable.snapshot == nil else { return false }
        return applying < maxAppliableIndex(allowUnstable: allowUnstable)
    }

    /// The committed entries after ``applying`` that may be handed out to apply, at most the
    /// bytes left in the ``maxApplyingBytes`` budget (but at least one) (raft's
    /// `nextCommittedEnts`); empty when ``hasEntriesToApply(allowUnstable:)`` is false.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when the entries cannot be read
    ///   (they must be in the log: they are committed and not applied).
    public func entriesToApply(allowUnstable: Bool = true) throws(StorageError) -> [Entry] {
        guard hasEntriesToApply(allowUnstable: allowUnstable) else { return [] }
        let range = (applying + 1)..<(maxAppliableIndex(allowUnstable: allowUnstable) + 1)
        let budget: UInt64
        if maxApplyingBytes == .max {
            budget = .max
        } else {
            budget = maxApplyingBytes > applyingBytes ? maxApplyingBytes - applyingBytes : 0
        }
        do {
            return try entries(in: range, maxBytes: budget)
        } catch {
            throw StorageError(
                .invariantViolation,
                "the entries to apply [\(range.lowerBound), \(range.upperBound)) must be readable (\(error))")
        }
    }

    /// Records that the entries through `index`, of `bytes` total ``Entry/encodedSize``, were
    /// handed to the application (raft's `acceptApplying`). Handing out pauses
    /// (``isApplyingPaused``) when the outstanding bytes reach ``maxApplyingBytes``, or, under
    /// a limit, when `index` stops short of ``maxAppliableIndex(allowUnstable:)`` (the batch
    /// was cut by the limit).
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when `index` is past ``committed``
    ///   or below ``applying``.
    public mutating func markApplying(through index: UInt64, bytes: UInt64, allowUnstable: Bool = true) throws(StorageError) {
        guard index <= committed else {
            throw StorageError(.invariantViolation, "applying (\(index)) must not pass committed (\(committed))")
        }
        guard index >= applying else {
            throw StorageError(.invariantViolation, "applying (\(index)) must not go below the previous applying (\(applying))")
        }
        applying = index
        let (total, overflow) = applyingBytes.addingReportingOverflow(bytes)
        applyingBytes = overflow ? .max : total
        let cutByLimit = maxApplyingBytes != .max && index < maxAppliableIndex(allowUnstable: allowUnstable)
        isApplyingPaused = budgetUsedUp || cutByLimit
    }

    /// Reads ``entriesToApply(allowUnstable:)`` and marks them handed out
    /// (``markApplying(through:bytes:allowUnstable:)``): the next call returns the entries after
    /// them. Report them applied with `applied(to: batch.last.index, bytes: batch.totalEncodedSize)`.
    public mutating func beginApplying(allowUnstable: Bool = true) throws(StorageError) -> [Entry] {
        let batch = try entriesToApply(allowUnstable: allowUnstable)
        guard let last = batch.last else { return [] }
        try markApplying(through: last.index, bytes: batch.totalEncodedSize, allowUnstable: allowUnstable)
        return batch
    }

    /// Records that the application applied everything through `index`, releasing `bytes` of
    /// the ``maxApplyingBytes`` budget (raft's `appliedTo`); an `index` of 0 is ignored.
    /// ``applying`` moves up to `index` when it was behind.
    ///
    /// - Throws: ``StorageError/Code/invariantViolation`` when `index` is past ``committed``
    ///   or below ``applied``.
    public mutating func applied(to index: UInt64, bytes: UInt64 = 0) throws(StorageError) {
        guard index != 0 else { return }
        guard index <= committed else {
            throw StorageError(.invariantViolation, "applied (\(index)) must not pass committed (\(committed))")
        }
        guard index >= applied else {
            throw StorageError(.invariantViolation, "applied (\(index)) must not go below the previous applied (\(applied))")
        }
        applied = index
        applying = max(applying, index)
        applyingBytes = applyingBytes > bytes ? applyingBytes - bytes : 0
        isApplyingPaused = budgetUsedUp
    }

    /// Whether the entries handed out and not yet reported applied use up the budget; nothing
    /// outstanding never does, so a zero budget still hands out one entry at a time.
    private var budgetUsedUp: Bool {
        applyingBytes > 0 && applyingBytes >= maxApplyingBytes
    }
}
