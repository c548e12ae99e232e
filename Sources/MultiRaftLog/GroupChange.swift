import RaftStorage

/// One group's part of a batch, as written and as read back. Applied in field order:
/// removal, snapshot installed, entries and HardState, snapshot recorded, compaction, resume.
///
/// Parts are copied several times between a batch and the record; the steps most parts never
/// hold (snapshots, compaction, resume) are kept together behind one reference, so a part
/// copies as a few words.
struct GroupChange: Sendable {
    /// Forget the group entirely (``LogEngine/removeGroup(_:)``).
    var remove = false
    /// Where the part's entries are in the entries of its batch (``WriteBatch``'s, or a
    /// record's as read back); on disk only the entries the group's log keeps (the rest were at
    /// or below its boundary). A range, not an array of the part's own: a batch of a thousand
    /// one-entry parts then allocates and frees no array per part, and a part copies as plain
    /// words and one reference.
    var entryRange: Range<Int> = 0..<0
    var hardState: HardState = .empty
    private var rare: RareSteps? = nil

    /// The steps parts rarely hold; never all empty (then there is none).
    private final class RareSteps: Sendable {
        let applySnapshot: SnapshotMarker?
        let recordSnapshot: SnapshotMarker?
        let compact: UInt64?
        let resume: SnapshotMarker?

        init(applySnapshot: SnapshotMarker?, recordSnapshot: SnapshotMarker?, compact: UInt64?, resume: SnapshotMarker?) {
            self.applySnapshot = applySnapshot
            self.recordSnapshot = recordSnapshot
            self.compact = compact
            self.resume = resume
        }
    }

    /// A part that changes nothing, to be filled in.
    init() {}

    /// A part of entries and a HardState only, what almost every part is.
    init(entryRange: Range<Int>, hardState: HardState) {
        self.entryRange = entryRange
        self.hardState = hardState
    }

    var applySnapshot: SnapshotMarker? {
        get { rare?.applySnapshot }
        set { setRare(applySnapshot: newValue, recordSnapshot: recordSnapshot, compact: compact, resume: resume) }
    }

    var recordSnapshot: SnapshotMarker? {
        get { rare?.recordSnapshot }
        set { setRare(applySnapshot: applySnapshot, recordSnapshot: newValue, compact: compact, resume: resume) }
    }

    var compact: UInt64? {
        get { rare?.compact }
        set { setRare(applySnapshot: applySnapshot, recordSnapshot: recordSnapshot, compact: newValue, resume: resume) }
    }

    /// Start the log at this older recorded marker (``GroupLog/resume(from:)``).
    var resume: SnapshotMarker? {
        get { rare?.resume }
        set { setRare(applySnapshot: applySnapshot, recordSnapshot: recordSnapshot, compact: compact, resume: newValue) }
    }

    private mutating func setRare(applySnapshot: SnapshotMarker?, recordSnapshot: SnapshotMarker?, compact: UInt64?, resume: SnapshotMarker?) {
        let none = applySnapshot == nil && recordSnapshot == nil && compact == nil && resume == nil
        rare = none ? nil : RareSteps(applySnapshot: applySnapshot, recordSnapshot: recordSnapshot, compact: compact, resume: resume)
    }

    /// Adds what `later`, a part made after this one for the same group, changes besides its
    /// entries (the caller places those after this part's): each step it holds in place of
    /// this one's, as the calls that made both, one after the other, would have left one part.
    mutating func mergeSteps(_ later: GroupChange) {
        remove = remove || later.remove
        if !later.hardState.isEmpty { hardState = later.hardState }
        if later.hasRareSteps {
            setRare(
                applySnapshot: later.applySnapshot ?? applySnapshot, recordSnapshot: later.recordSnapshot ?? recordSnapshot,
                compact: later.compact ?? compact, resume: later.resume ?? resume)
        }
    }

    /// Whether the part holds a step besides entries and a HardState.
    var hasRareSteps: Bool { rare != nil }

    var isEmpty: Bool {
        !remove && entryRange.isEmpty && hardState.isEmpty && rare == nil
    }

    /// Whether raft's `MustSync` asks for a sync for this part, `stored` being the HardState
    /// before it and `keptEntries` the entries it appends.
    func mustSync(stored: HardState, keptEntries: Int) -> Bool {
        // The rare steps' getters copy markers out: asked only when there are any.
        remove || (hasRareSteps && (applySnapshot != nil || recordSnapshot != nil || resume != nil))
            || Self.mustSync(hardState: hardState, stored: stored, keptEntries: keptEntries)
    }

    /// ``mustSync(stored:keptEntries:)`` of a part of entries and `hardState` only.
    static func mustSync(hardState: HardState, stored: HardState, keptEntries: Int) -> Bool {
        hardState.isEmpty ? keptEntries > 0 : hardState.mustSync(previous: stored, entryCount: keptEntries)
    }
}

/// A group and its part of a batch. A struct rather than a tuple: destroying an array of
/// tuples goes through the tuple's generic value witnesses, element by element, which cost
/// more than building the batch.
struct GroupPart: Sendable {
    var group: UInt64
    var change: GroupChange
}
