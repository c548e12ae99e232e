import RaftStorage

/// Where an entry's frame lies in the WAL: the segment, the frame's offset, and the running CRC
/// before it (so a read starting there can verify every record it reads).
struct EntryPlacement: Hashable, Sendable {
    var segment: SegmentName
    var offset: Int64
    var crcBefore: UInt32
}

/// The WAL's index of its entries: their terms (as runs) and, every few hundred entries, where
/// in the segments to start reading them. No entry data, no file I/O: a ``SegmentReader`` reads
/// entries back at these positions. The slots of ``WALLogStore``'s ``EntryIndex``.
///
/// A checkpoint at index `i` covers the entries from `i` up to the next checkpoint's index (a
/// run): reading its segment from its offset meets exactly those entries, in order, between
/// other records. A write that replaced entries (raft's truncation) always starts a checkpoint,
/// and the older frames it superseded lie before it or past the end of the run before, so they
/// are never read. Memory: about 30 bytes per 256 entries or per 64 KiB of segment, plus one
/// term run per term change, so a log far larger than memory can be opened.
struct LocatedEntries: LogSlots, Sendable {
    struct Checkpoint: Sendable {
        var index: UInt64
        var placement: EntryPlacement
    }

    /// The entries a reader meets from one checkpoint: `first..<end`, read from `placement` on.
    struct Run {
        var first: UInt64
        var placement: EntryPlacement
        var end: UInt64
    }

    /// The first index held (the boundary's index plus one).
    private(set) var first: UInt64
    private(set) var count: UInt64 = 0
    /// (first index, term) of each run of equal terms.
    private var terms: [(first: UInt64, term: UInt64)] = []
    private var checkpoints: [Checkpoint] = []
    /// Entries since the last checkpoint, and where the last entry's frame was.
    private var sinceCheckpoint = 0
    private var lastPlacement: EntryPlacement?

    static let checkpointEntries = 256
    static let checkpointBytes: Int64 = 64 * 1024

    init(after boundary: UInt64) {
        self.first = boundary + 1
    }

    var last: UInt64 { first + count - 1 }
    var isEmpty: Bool { count == 0 }

    /// The term of `index` (which the entries hold).
    func term(at index: UInt64) -> UInt64 { terms.term(at: index) }

    /// Adds the entry at `index`, one past the last, found at `placement`: its own frame, or
    /// the first frame of the write it came in, whose entries follow one another.
    mutating func append(index: UInt64, term: UInt64, at placement: EntryPlacement) {
        let contiguous = !isEmpty && index == last + 1
        let previous = lastPlacement
        // Entries of one write share its first entry's placement: only the first can start a
        // checkpoint, the others are read on from there. A truncation before this entry left
        // no previous placement, so it starts one.
        let needsCheckpoint = !contiguous || previous?.segment != placement.segment
            || (placement != previous
                && (sinceCheckpoint >= Self.checkpointEntries
                    || placement.offset - (checkpoints.last?.placement.offset ?? 0) >= Self.checkpointBytes))
        if needsCheckpoint {
            checkpoints.append(Checkpoint(index: index, placement: placement))
            sinceCheckpoint = 0
        }
        sinceCheckpoint += 1
        appendWithoutCheckpoint(index: index, term: term, at: placement)
    }

    /// ``append(index:term:at:)`` for entries that are kept whole and never read back from
    /// their placements (a replay into entries): the terms, the count and the last placement,
    /// without the checkpoint bookkeeping (a twelfth of such a replay's instructions).
    mutating func appendWithoutCheckpoint(index: UInt64, term: UInt64, at placement: EntryPlacement) {
        if terms.last?.term != term || isEmpty { terms.append((index, term)) }
        lastPlacement = placement
        if isEmpty { first = index }
        count = index - first + 1
    }

    /// Adds the entries of `other` from `index` on, `index` being one past the last (or the
    /// first, when these hold none): the runs an open that read segments on their own found.
    /// The first of them starts a checkpoint, at the checkpoint of `other` that reaches it.
    mutating func append(contentsOf other: LocatedEntries, from index: UInt64) {
        guard !other.isEmpty, index >= other.first, index <= other.last else { return }
        let runStart = other.terms.lastIndex(where: { $0.first <= index }) ?? 0
        for run in other.terms[runStart...] where terms.last?.term != run.term {
            terms.append((Swift.max(run.first, index), run.term))
        }
        let checkpointStart = other.checkpoints.lastIndex(where: { $0.index <= index }) ?? 0
        checkpoints.append(Checkpoint(index: index, placement: other.checkpoints[checkpointStart].placement))
        checkpoints.append(contentsOf: other.checkpoints[(checkpointStart + 1)...])
        sinceCheckpoint = other.sinceCheckpoint
        lastPlacement = other.lastPlacement
        if isEmpty { first = index }
        count = other.last - first + 1
    }

    /// Where the last entry's frame (or its write's first frame) lies in its segment.
    var lastOffset: Int64? { lastPlacement?.offset }

    /// The runs of equal terms from the one holding `index` (an entry these hold) on.
    func termRuns(from index: UInt64) -> ArraySlice<(first: UInt64, term: UInt64)> {
        terms[(terms.lastIndex(where: { $0.first <= index }) ?? 0)...]
    }

    /// Drops every entry after `index`.
    mutating func truncate(after index: UInt64) {
        guard !isEmpty, index < last else { return }
        if index < first {
            self = LocatedEntries(after: first - 1)
            return
        }
        count = index - first + 1
        while let run = terms.last, run.first > index { terms.removeLast() }
        while let checkpoint = checkpoints.last, checkpoint.index > index { checkpoints.removeLast() }
        // The next entry cannot continue the last checkpoint: force a new one.
        lastPlacement = nil
    }

    /// Drops every entry up to `index`, keeping those after it.
    mutating func drop(through index: UInt64) {
        guard !isEmpty, index >= first else { return }
        guard index < last else {
            self = LocatedEntries(after: index)
            return
        }
        count = last - index
        first = index + 1
        // Keep the last run and checkpoint that start at or before the new first index.
        if let keep = terms.lastIndex(where: { $0.first <= first }), keep > 0 { terms.removeFirst(keep) }
        if let keep = checkpoints.lastIndex(where: { $0.index <= first }), keep > 0 { checkpoints.removeFirst(keep) }
    }

    /// The run that holds `index` (an entry these hold).
    func run(containing index: UInt64) -> Run {
        var low = 0
        var high = checkpoints.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if checkpoints[middle].index <= index { low = middle } else { high = middle }
        }
        let end = low + 1 < checkpoints.count ? checkpoints[low + 1].index : last + 1
        return Run(first: checkpoints[low].index, placement: checkpoints[low].placement, end: end)
    }
}
