/// The position of a snapshot in the log: the index and term of the last entry it covers.
///
/// This is what a durable log records when a snapshot is taken (etcd's `walpb.Snapshot`), so
/// that recovery starts the log at a point it has actually recorded. `(0, 0)` is the start of
/// every log.
public struct SnapshotMarker: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The index of the last entry the snapshot covers.
    public var index: UInt64
    /// The term of that entry.
    public var term: UInt64
    /// The membership at that point, when the log recorded it (etcd 3.5+ writes it).
    public var confState: ConfState?

    /// A marker, without membership unless given.
    public init(index: UInt64, term: UInt64, confState: ConfState? = nil) {
        self.index = index
        self.term = term
        self.confState = confState
    }

    /// The marker every log starts with.
    public static let zero = SnapshotMarker(index: 0, term: 0)

    /// Whether two markers name the same position; membership does not take part, as in
    /// etcd's snapshot matching.
    public func matches(_ other: SnapshotMarker) -> Bool {
        index == other.index && term == other.term
    }

    public static func < (lhs: SnapshotMarker, rhs: SnapshotMarker) -> Bool {
        (lhs.term, lhs.index) < (rhs.term, rhs.index)
    }

    public var description: String { "(index: \(index), term: \(term))" }
}

/// What a snapshot covers (raft's `SnapshotMetadata`).
public struct SnapshotMetadata: Hashable, Sendable {
    /// The membership at ``index``.
    public var confState: ConfState
    /// Index of the last entry the snapshot covers.
    public var index: UInt64
    /// Term of that entry.
    public var term: UInt64

    /// Metadata; all zero (no snapshot) by default.
    public init(confState: ConfState = ConfState(), index: UInt64 = 0, term: UInt64 = 0) {
        self.confState = confState
        self.index = index
        self.term = term
    }

    /// The log position of this snapshot, without membership.
    public var marker: SnapshotMarker { SnapshotMarker(index: index, term: term) }
}

/// A state machine snapshot with its metadata (raft's `Snapshot`).
///
/// `data` is optional for the same reason as ``Entry/data``: etcd's encoding distinguishes an
/// absent payload from an empty one.
public struct Snapshot: Hashable, Sendable {
    /// The serialized state machine; `nil` when absent.
    public var data: [UInt8]?
    /// What the snapshot covers.
    public var metadata: SnapshotMetadata

    /// A snapshot; the empty one (index 0) by default.
    public init(data: [UInt8]? = nil, metadata: SnapshotMetadata = SnapshotMetadata()) {
        self.data = data
        self.metadata = metadata
    }

    /// raft's `IsEmptySnap`: a snapshot at index 0 stands for "no snapshot".
    public var isEmpty: Bool { metadata.index == 0 }
}
