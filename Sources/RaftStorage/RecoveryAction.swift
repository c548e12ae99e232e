/// One change recovery made to stored data when a store opened, or one file it set aside:
/// what ``Storage/Recovery/actions`` and the log stores report, so recovery is never silent.
public struct RecoveryAction: Sendable, Hashable, CustomStringConvertible {
    /// What was done.
    public enum Kind: String, Sendable, Hashable {
        /// A torn write was cut off the end of the log: it can hold nothing acknowledged.
        case tornTailCut
        /// Damaged data was cut off the log because the store was told to (a recovery mode
        /// chosen by an operator): what lay after it is lost.
        case damageDiscarded
        /// A snapshot file that failed to verify was set aside and an older one used.
        case snapshotSetAside
    }

    /// What was done.
    public var kind: Kind
    /// The file changed or set aside.
    public var path: String?
    /// Where in ``path`` the cut was made.
    public var offset: Int64?
    /// How many bytes the cut removed (up to the last non-zero byte), when known.
    public var bytesRemoved: Int64?
    /// Entries the log no longer holds because of the action (`nil` when none were removed,
    /// as for a torn write, whose record was never acknowledged).
    public var removedEntries: ClosedRange<UInt64>?
    /// The snapshot set aside.
    public var snapshot: SnapshotMarker?
    /// The copy kept of what was changed.
    public var backup: String?
    /// Why, in words.
    public var detail: String

    /// An action of `kind`; fields that do not apply stay `nil`.
    public init(
        _ kind: Kind, path: String? = nil, offset: Int64? = nil, bytesRemoved: Int64? = nil,
        removedEntries: ClosedRange<UInt64>? = nil, snapshot: SnapshotMarker? = nil, backup: String? = nil, detail: String
    ) {
        self.kind = kind
        self.path = path
        self.offset = offset
        self.bytesRemoved = bytesRemoved
        self.removedEntries = removedEntries
        self.snapshot = snapshot
        self.backup = backup
        self.detail = detail
    }

    /// One line: what, where, how much, and why.
    public var description: String {
        var text = "\(kind.rawValue)"
        if let path { text += " \(path)" }
        if let offset { text += " at offset \(offset)" }
        if let bytesRemoved { text += ", \(bytesRemoved) bytes removed" }
        if let removedEntries { text += ", entries \(removedEntries.lowerBound)...\(removedEntries.upperBound) removed" }
        if let snapshot { text += ", snapshot \(snapshot)" }
        if let backup { text += " (copy kept as \(backup))" }
        return text + ": " + detail
    }
}

extension LogStore {
    /// What opening this store changed on disk; none for a store that repairs nothing.
    public var recoveryActions: [RecoveryAction] { [] }
}
